/** A room: header (status, invite, people), file tabs, the editor, and the side panels. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSession, useSynced, useConnectionStatus, useParticipants, useYMap, publishIdentity } from './session';
import { useConnectionRefusal, usePeople, useRoomAccess } from './useAccess';
import { ShareDialog } from './ShareDialog';
import { useAccount } from '../lib/account';
import { guestQuery, type GuestPass } from '../lib/api';
import { badgeOf, badgeTitle, inviteFromSearch, type Refusal } from '../lib/access';
import { authPath } from '../lib/router';
import { FileTabs } from './FileTabs';
import { Participants } from './Participants';
import { StatusBadge } from './StatusBadge';
import { CodeEditor, type EditorApi } from '../editor/CodeEditor';
import { ComplexityPanel } from '../panels/ComplexityPanel';
import { RunPanel } from '../panels/RunPanel';
import { useAnalysis } from '../panels/useAnalysis';
import { NameDialog } from '../components/NameDialog';
import { Modal } from '../components/Modal';
import { ShortcutsDialog } from '../components/ShortcutsDialog';
import { shortcutFor } from '../components/shortcuts';
import { IconEye, IconKeyboard, IconLink, IconMoon, IconReplay, IconSun, Logo } from '../components/icons';
import { savedColor, savedName, saveName, textOn, type Identity } from '../lib/identity';
import { rememberRoom } from '../lib/recentRooms';
import { inviteLink } from '../lib/roomId';
import { navigate, replayPath } from '../lib/router';
import { useTheme } from '../lib/theme';
import { fileLanguage, LANGUAGES, languageById } from '../lib/languages';
import { markersFor } from '../lib/analysis';
import {
  addFile,
  deleteFile,
  entryFile,
  filesOf,
  freshName,
  metaOf,
  entryOffer,
  renameFile,
  roomLanguage,
  setEntry,
  sortedPaths,
  switchLanguage,
} from '../lib/docModel';

export function RoomPage({ room }: { room: string }) {
  const [identity, setIdentity] = useState<Identity | null>(() => {
    const name = savedName();
    return name ? { name, color: savedColor() } : null;
  });
  const [renamingSelf, setRenamingSelf] = useState(false);
  // A guest's invite link (`?invite=`): they confirm the name they join with, once.
  const invite = useMemo(() => inviteFromSearch(location.search), []);
  const account = useAccount();
  const signedIn = account.state === 'signed-in';
  const [guestNamed, setGuestNamed] = useState(false);
  const asGuest = invite !== null && account.state === 'signed-out';
  const askGuestName = asGuest && !guestNamed;
  const guest: GuestPass | null = useMemo(() => (invite !== null && identity !== null ? { invite, name: identity.name } : null), [invite, identity]);
  const ready = identity !== null && account.state !== 'unknown' && !askGuestName;
  // The name one joined with stays the connection's name (a rename changes presence only, and
  // does not reconnect): the pass is taken once, when the room opens.
  const pass = useRef<GuestPass | null>(null);
  if (ready && guest !== null && pass.current === null) pass.current = guest;
  const passFor = pass.current;
  const who = signedIn ? `user:${account.username}` : 'out';
  const [accessState, refuse] = useRoomAccess(room, passFor, who, ready);
  const access = accessState.status === 'ok' ? accessState.access : null;
  const [liveRole, setLiveRole] = useState<string | null>(null);
  const role = liveRole ?? access?.role ?? null;
  const canEdit = role === 'owner' || role === 'editor';
  const params = useMemo(() => (passFor ? { invite: passFor.invite, name: passFor.name } : undefined), [passFor]);
  // Our update refused: the owner made us a viewer meanwhile. Read-only at once, and a fresh
  // copy of the document (ours holds the refused edit, which nobody else has).
  const [generation, setGeneration] = useState(0);
  const onDenied = useCallback(() => {
    setLiveRole('viewer');
    setGeneration((g) => g + 1);
  }, []);
  const session = useSession(room, access ? identity : null, { params, canEdit, onDenied, generation });
  useConnectionRefusal(session, room, passFor, signedIn, refuse, access?.owned ?? false);
  const people = usePeople(session, room, passFor, access?.owned ?? false);
  // The server's word on our own role wins over what /access said (an owner may change it live).
  const selfRole = session ? people.get(session.awareness.clientID)?.role : undefined;
  useEffect(() => {
    if (selfRole) setLiveRole(selfRole);
  }, [selfRole]);
  const [sharing, setSharing] = useState(false);
  const isOwner = role === 'owner' && (access?.owned ?? false);
  const synced = useSynced(session);
  const status = useConnectionStatus(session);
  const participants = useParticipants(session);
  const [theme, toggleTheme] = useTheme();
  const [toast, showToast] = useToast();
  const [showShortcuts, setShowShortcuts] = useState(false);

  useEffect(() => {
    rememberRoom(room);
    document.title = `${room} · PeerCode`;
    return () => {
      document.title = 'PeerCode';
    };
  }, [room]);

  useEffect(() => {
    if (session && identity) publishIdentity(session, identity);
  }, [session, identity]);

  const files = session ? filesOf(session.doc) : undefined;
  const meta = session ? metaOf(session.doc) : undefined;
  useYMap(files);
  useYMap(meta);
  const paths = session ? sortedPaths(session.doc) : [];
  const entry = session ? entryFile(session.doc) : undefined;
  const languageId = session ? roomLanguage(session.doc) : undefined;
  // One object per id: the analysis restarts when the language changes, not on every render.
  const language = useMemo(() => languageById(languageId), [languageId]);
  const [languageOffer, setLanguageOffer] = useState<{ language: string; rename: string | null; starter: boolean } | null>(null);

  const [active, setActive] = useState<string | undefined>(undefined);
  // Keep an open file: the entry at first, another one when ours is renamed or deleted.
  const current = active !== undefined && paths.includes(active) ? active : (entry !== undefined && paths.includes(entry) ? entry : paths[0]);
  const text = current !== undefined ? files?.get(current) : undefined;
  // Highlighting and analysis follow the open file's extension (the room's language otherwise).
  // (Always the same object for a language, so the analysis restarts only when it changes.)
  const currentLanguage = fileLanguage(current, languageId);

  const [adding, setAdding] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const editorApi = useRef<EditorApi | null>(null);
  const [analysis, retryAnalysis] = useAnalysis(text, currentLanguage, status === 'connected');
  // While a newer report is on its way, the markers of the last one stay (no flicker). They
  // are computed once per report, never per keystroke (the editor clips them to the file).
  const report = analysis.kind === 'ready' || analysis.kind === 'loading' ? analysis.report : null;
  const markers = useMemo(() => (report ? markersFor(report, Number.MAX_SAFE_INTEGER) : []), [report]);
  const reveal = useCallback((line: number) => editorApi.current?.revealLine(line), []);

  const copyInvite = useCallback(async () => {
    if (isOwner) {
      setSharing(true);
      return;
    }
    // A private room's address lets nobody in: its links come from the owner's share dialog.
    if (access?.owned && access.visibility === 'private') {
      showToast('Only the owner can invite people to this private room');
      return;
    }
    const link = inviteLink(location.origin, room);
    const ok = await copyText(link);
    showToast(ok ? 'Invite link copied' : `Copy this link: ${link}`);
  }, [room, showToast, isOwner, access]);

  const step = useCallback(
    (delta: number) => {
      if (paths.length === 0) return;
      const i = current !== undefined ? paths.indexOf(current) : 0;
      setActive(paths[(i + delta + paths.length) % paths.length]);
    },
    [paths, current],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutFor(e);
      if (!action) return;
      e.preventDefault();
      e.stopPropagation();
      if (action === 'newFile') setAdding(true);
      else if (action === 'nextFile') step(1);
      else if (action === 'prevFile') step(-1);
      else if (action === 'copyInvite') void copyInvite();
      else if (action === 'toggleTheme') toggleTheme();
      else if (action === 'showShortcuts') setShowShortcuts(true);
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [step, copyInvite, toggleTheme]);

  if (askGuestName) {
    return (
      <div className="page center">
        <NameDialog
          title={`Join room ${room} as a guest`}
          initial={identity?.name ?? ''}
          submitLabel="Join room"
          hint="You were invited by link: no account needed. Others see this name."
          onSubmit={(name) => {
            saveName(name);
            const next = { name, color: identity?.color ?? savedColor() };
            setIdentity(next);
            setGuestNamed(true);
          }}
          onCancel={() => navigate('/')}
        />
      </div>
    );
  }

  if (identity === null) {
    return (
      <div className="page center">
        <NameDialog
          title={`Join room ${room}`}
          initial=""
          submitLabel="Join room"
          onSubmit={(name) => {
            saveName(name);
            setIdentity({ name, color: savedColor() });
          }}
          onCancel={() => navigate('/')}
        />
      </div>
    );
  }

  if (accessState.status === 'refused') return <RoomRefused room={room} refusal={accessState.refusal} />;

  const guard = (f: () => void): string | null => {
    try {
      f();
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };

  return (
    <div className="page room" data-room={room}>
      <header className="topbar">
        <a
          className="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate('/');
          }}
        >
          <Logo />
          <span>PeerCode</span>
        </a>
        <span className="room-id" title={`Room ${room}`}>
          {room}
        </span>
        <StatusBadge status={status} />
        <div className="spacer" />
        <div className="avatars" aria-hidden="true">
          {participants.slice(0, 5).map((p) => (
            <span key={p.clientId} className="avatar small" style={{ backgroundColor: p.color, color: textOn(p.color) }} title={p.name}>
              {p.name.slice(0, 1).toUpperCase()}
            </span>
          ))}
        </div>
        <a
          className="btn replay-link"
          href={replayPath(room)}
          onClick={(e) => {
            e.preventDefault();
            navigate(replayPath(room));
          }}
          title="Watch this room's session like a video"
        >
          <IconReplay />
          <span className="label">Replay</span>
        </a>
        {isOwner ? (
          <button type="button" className="btn invite share-button" onClick={() => setSharing(true)} title="Invite links and members (Alt+L)" aria-label="Share">
            <IconLink />
            <span className="label">Share</span>
          </button>
        ) : access?.owned && access.visibility === 'private' ? null : (
          <button type="button" className="btn invite" onClick={() => void copyInvite()} title="Copy invite link (Alt+L)" aria-label="Copy invite link">
            <IconLink />
            <span className="label">Copy invite link</span>
          </button>
        )}
        <button type="button" className="icon-btn" onClick={toggleTheme} aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'} title="Theme (Alt+T)">
          {theme === 'dark' ? <IconSun /> : <IconMoon />}
        </button>
        <button type="button" className="icon-btn shortcuts-btn" onClick={() => setShowShortcuts(true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (Alt+/)">
          <IconKeyboard />
        </button>
      </header>

      {(status === 'reconnecting' || status === 'offline') && <ConnectionBanner status={status} />}
      {role === 'viewer' && (
        <div className="view-only-banner" role="status" data-testid="view-only">
          <IconEye />
          <strong>View only.</strong>
          <span>You can watch and follow along; editing and running are for the room’s editors.</span>
        </div>
      )}
      <main className="workspace">
        <div className="editor-column">
          <div className="editor-toolbar">
            <FileTabs
              files={paths}
              active={current}
              entry={entry}
              adding={adding}
              onAddingChange={setAdding}
              suggestedName={freshName(paths, language.extension)}
              onOpen={setActive}
              onAdd={(p) =>
                guard(() => {
                  if (!session) return;
                  addFile(session.doc, p);
                  setActive(p);
                })
              }
              onRename={(from, to) =>
                guard(() => {
                  if (!session) return;
                  renameFile(session.doc, from, to);
                  if (current === from) setActive(to);
                })
              }
              onDelete={(p) => setConfirmDelete(p)}
              readOnly={!canEdit}
            />
            <label className="language-picker">
              <span className="visually-hidden">Language</span>
              <select
                aria-label="Language"
                value={language.id}
                disabled={!session || !synced || !canEdit}
                title="The room's language: what runs, and the entry file's language"
                onChange={(e) => {
                  if (!session) return;
                  const id = e.target.value;
                  const offer = entryOffer(session.doc, id);
                  switchLanguage(session.doc, id);
                  setLanguageOffer(offer ? { language: id, ...offer } : null);
                }}
              >
                {!LANGUAGES.some((l) => l.id === language.id) && <option value={language.id}>{language.label}</option>}
                {LANGUAGES.map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <div className="editor-frame">
            {session && (
              <CodeEditor
                doc={session.doc}
                awareness={session.awareness}
                path={synced ? current : undefined}
                text={synced ? text : undefined}
                monacoLanguage={currentLanguage.monaco}
                theme={theme}
                markers={markers}
                onReady={(api) => (editorApi.current = api)}
                readOnly={!canEdit}
              />
            )}
            {(!synced || !access) && (
              <div className="editor-overlay" role="status">
                {status === 'offline' || (accessState.status === 'loading' && accessState.unreachable) ? 'Cannot reach the server. Retrying…' : 'Opening the room…'}
              </div>
            )}
          </div>
          <RunPanel
            room={room}
            doc={session?.doc}
            synced={synced}
            name={identity.name}
            files={paths}
            entry={entry}
            onEntryChange={(p) => session && setEntry(session.doc, p)}
            readOnly={!canEdit}
            runDisabledReason={canEdit ? undefined : 'Viewers cannot run code: ask the owner for edit access'}
            query={guestQuery(passFor)}
          />
        </div>
        <aside className="sidebar">
          <Participants
            participants={participants}
            reconnecting={status === 'reconnecting' || status === 'offline'}
            onRenameSelf={() => setRenamingSelf(true)}
            badge={(p) => {
              const present = people.get(p.clientId);
              return { badge: badgeOf(present, access?.owned ?? false), title: badgeTitle(present) };
            }}
          />
          <ComplexityPanel
            state={analysis}
            file={current}
            onRetry={retryAnalysis}
            onReveal={reveal}
          />
        </aside>
      </main>

      {toast && (
        <div className="toast" role="status">
          {toast}
        </div>
      )}
      {showShortcuts && <ShortcutsDialog onClose={() => setShowShortcuts(false)} />}
      {sharing && isOwner && <ShareDialog room={room} visibility={access?.visibility ?? null} onClose={() => setSharing(false)} copy={copyText} />}
      {renamingSelf && (
        <NameDialog
          title="Change your name"
          initial={identity.name}
          submitLabel="Save"
          onSubmit={(name) => {
            saveName(name);
            setIdentity({ ...identity, name });
            setRenamingSelf(false);
          }}
          onCancel={() => setRenamingSelf(false)}
        />
      )}
      {languageOffer !== null && entry !== undefined && (
        <LanguageOfferDialog
          entry={entry}
          language={languageById(languageOffer.language).label}
          rename={languageOffer.rename}
          starter={languageOffer.starter}
          onAccept={() => {
            const err = guard(() => session && switchLanguage(session.doc, languageOffer.language, { renameEntry: true, starter: true }));
            if (languageOffer.rename && current === entry) setActive(languageOffer.rename);
            setLanguageOffer(null);
            if (err) showToast(err);
          }}
          onClose={() => setLanguageOffer(null)}
        />
      )}
      {confirmDelete !== null && (
        <Modal title={`Delete ${confirmDelete}?`} onClose={() => setConfirmDelete(null)}>
          <p>It is deleted for everyone in the room.</p>
          <div className="row end">
            <button type="button" className="btn" onClick={() => setConfirmDelete(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="btn btn-danger"
              onClick={() => {
                const err = guard(() => session && deleteFile(session.doc, confirmDelete));
                setConfirmDelete(null);
                if (err) showToast(err);
              }}
            >
              Delete
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}

/** Instead of the room: why it cannot be opened (or is closed now), and where to go. */
function RoomRefused({ room, refusal }: { room: string; refusal: Refusal }) {
  useEffect(() => {
    document.title = `${refusal.title} · PeerCode`;
  }, [refusal.title]);
  const back = location.pathname + location.search;
  return (
    <div className="page room-refused" data-room={room}>
      <header className="topbar">
        <a
          className="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate('/');
          }}
        >
          <Logo />
          <span>PeerCode</span>
        </a>
        <span className="room-id" title={`Room ${room}`}>
          {room}
        </span>
      </header>
      <main className="refusal-main">
        <div className="card refusal-card" role="alert" data-testid="room-refused">
          <h1>{refusal.title}</h1>
          <p>{refusal.detail}</p>
          <div className="row">
            {refusal.signIn && (
              <a
                className="btn btn-primary"
                href={authPath('login', back)}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(authPath('login', back));
                }}
              >
                Sign in
              </a>
            )}
            <a
              className="btn"
              href="/"
              onClick={(e) => {
                e.preventDefault();
                navigate('/');
              }}
            >
              Back to the lobby
            </a>
          </div>
        </div>
      </main>
    </div>
  );
}

/** After the room's language changed: rename the entry file to match, and fill it if empty. */
function LanguageOfferDialog(p: { entry: string; language: string; rename: string | null; starter: boolean; onAccept: () => void; onClose: () => void }) {
  const action = [p.rename ? `Rename to ${p.rename}` : null, p.starter ? 'insert starter code' : null].filter(Boolean).join(' and ');
  return (
    <Modal title={`Make ${p.entry} a ${p.language} file?`} onClose={p.onClose}>
      <p>
        The room now runs {p.language}.{' '}
        {p.rename ? `${p.entry} is highlighted and analysed by its extension; as ${p.rename} it is ${p.language}.` : ''}
        {p.starter ? ` It is empty: it can start with a ${p.language} hello-world.` : ''}
      </p>
      <div className="row end">
        <button type="button" className="btn" onClick={p.onClose}>
          Keep {p.entry}
        </button>
        <button type="button" className="btn btn-primary" onClick={p.onAccept}>
          {action.charAt(0).toUpperCase() + action.slice(1)}
        </button>
      </div>
    </Modal>
  );
}

/** Impossible to miss: the connection is down, and what happens to your edits meanwhile. */
function ConnectionBanner({ status }: { status: 'reconnecting' | 'offline' }) {
  return (
    <div className="connection-banner" role="alert" data-connection={status}>
      <strong>{status === 'offline' ? 'You are offline.' : 'Connection lost: reconnecting…'}</strong>
      <span>Keep typing: your edits are kept here and sent when the connection is back. Others do not see them until then.</span>
    </div>
  );
}

function useToast(): [string | null, (text: string) => void] {
  const [toast, setToast] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const show = useCallback((text: string) => {
    clearTimeout(timer.current);
    setToast(text);
    timer.current = setTimeout(() => setToast(null), 2500);
  }, []);
  return [toast, show];
}

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the old way
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
