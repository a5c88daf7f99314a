/**
 * The replay player at `/r/{room}/replay`: the room's recording like a video. The editor,
 * file tabs, run panel and people show the room as it stood at the playhead; the bar at the
 * bottom plays, pauses, changes speed, skips idle time, scrubs and jumps between markers;
 * "Open a copy from here" forks a new room from that moment. Nothing here writes to the room.
 */
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type { Player, PlayerView } from '../lib/replay/player';
import { formatSpeed, formatTime, SPEEDS } from '../lib/replay/time';
import { markerText } from '../lib/replay/markers';
import { entryFile, filesOf, metaOf, roomLanguage, sortedPaths } from '../lib/docModel';
import { fileLanguage } from '../lib/languages';
import { navigate } from '../lib/router';
import { roomPath } from '../lib/roomId';
import { useTheme } from '../lib/theme';
import { FileTabs } from '../room/FileTabs';
import { Participants } from '../room/Participants';
import { participantsOf, useYMap, type Participant } from '../room/session';
import { RunPanel } from '../panels/RunPanel';
import { ShortcutsDialog } from '../components/ShortcutsDialog';
import { playerActionFor, shortcutFor } from '../components/shortcuts';
import { IconKeyboard, IconMoon, IconNextMarker, IconPause, IconPlay, IconPrevMarker, IconSun, Logo } from '../components/icons';
import { ReplayEditor } from './ReplayEditor';
import { Scrubber } from './Scrubber';
import { useAwarenessStates, useLastEdited, usePlayer, usePlayerView, usePlayhead } from './usePlayer';

export function PlayerPage({ room }: { room: string }) {
  const [attempt, setAttempt] = useState(0);
  const player = usePlayer(room, attempt);
  const view = usePlayerView(player);
  const [theme, toggleTheme] = useTheme();
  const [showShortcuts, setShowShortcuts] = useState(false);
  const [forking, setForking] = useState(false);
  const [forkError, setForkError] = useState<string | null>(null);

  useEffect(() => {
    document.title = `Replay · ${room} · PeerCode`;
    return () => {
      document.title = 'PeerCode';
    };
  }, [room]);

  const doc = view.doc;
  const files = doc ? filesOf(doc) : undefined;
  const meta = doc ? metaOf(doc) : undefined;
  useYMap(files);
  useYMap(meta);
  const paths = doc ? sortedPaths(doc) : [];
  const entry = doc ? entryFile(doc) : undefined;
  const languageId = doc ? roomLanguage(doc) : undefined;

  // The open file: the one picked, else the entry; while playing it follows the edits.
  const [active, setActive] = useState<string | undefined>(undefined);
  const following = useRef(true);
  const current = active !== undefined && paths.includes(active) ? active : entry !== undefined && paths.includes(entry) ? entry : paths[0];
  const text = current !== undefined ? files?.get(current) : undefined;
  const currentLanguage = fileLanguage(current, languageId);
  const playingRef = useRef(view.playing);
  playingRef.current = view.playing;
  const onEdit = useCallback((path: string) => {
    if (playingRef.current && following.current) setActive(path);
  }, []);
  useLastEdited(doc, onEdit);


  const fork = useCallback(async () => {
    if (!player || forking) return;
    setForking(true);
    setForkError(null);
    try {
      const newRoom = await player.fork();
      navigate(roomPath(newRoom));
    } catch (e) {
      setForkError(`Could not open a copy: ${e instanceof Error ? e.message : String(e)}`);
      setForking(false);
    }
  }, [player, forking]);

  const stepFile = useCallback(
    (delta: number) => {
      if (paths.length === 0) return;
      const i = current !== undefined ? paths.indexOf(current) : 0;
      following.current = false;
      setActive(paths[(i + delta + paths.length) % paths.length]);
    },
    [paths, current],
  );

  useEffect(() => {
    if (!player) return;
    const onKey = (e: KeyboardEvent) => {
      if (showShortcuts) return;
      const app = shortcutFor(e);
      if (app === 'toggleTheme' || app === 'showShortcuts' || app === 'nextFile' || app === 'prevFile') {
        e.preventDefault();
        e.stopPropagation();
        if (app === 'toggleTheme') toggleTheme();
        else if (app === 'showShortcuts') setShowShortcuts(true);
        else stepFile(app === 'nextFile' ? 1 : -1);
        return;
      }
      const action = playerActionFor(e);
      if (!action || !keyIsOurs(e, action.kind)) return;
      e.preventDefault();
      e.stopPropagation();
      switch (action.kind) {
        case 'toggle':
          if (!player.getView().playing) following.current = true;
          player.toggle();
          break;
        case 'seekBy':
          player.seekBy(action.ms);
          break;
        case 'marker':
          if (action.direction === 1) player.nextMarker();
          else player.prevMarker();
          break;
        case 'digit':
          player.seekToDigit(action.digit);
          break;
        case 'step':
          void player.step(action.direction);
          break;
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [player, showShortcuts, toggleTheme, stepFile]);

  const tl = view.timeline;

  return (
    <div className="page room replay" data-room={room} data-phase={view.phase}>
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
        <span className="replay-badge">Replay</span>
        <div className="spacer" />
        <a
          className="btn back-to-room"
          href={roomPath(room)}
          onClick={(e) => {
            e.preventDefault();
            navigate(roomPath(room));
          }}
        >
          Back to the room
        </a>
        <button type="button" className="icon-btn" onClick={toggleTheme} aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'} title="Theme (Alt+T)">
          {theme === 'dark' ? <IconSun /> : <IconMoon />}
        </button>
        <button type="button" className="icon-btn shortcuts-btn" onClick={() => setShowShortcuts(true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (Alt+/)">
          <IconKeyboard />
        </button>
      </header>

      {view.phase === 'empty' || view.phase === 'error' ? (
        <main className="replay-message">
          <div className="card" role={view.phase === 'error' ? 'alert' : 'status'} data-kind={view.phase}>
            <h1>{view.phase === 'empty' ? 'No recording yet' : 'Could not open the recording'}</h1>
            <p>{view.message}</p>
            {view.phase === 'empty' && <p className="hint">Everything that happens in a room is recorded: edit or run something there, then come back.</p>}
            <div className="row">
              {view.phase === 'error' && (
                <button type="button" className="btn btn-primary" onClick={() => setAttempt((a) => a + 1)}>
                  Try again
                </button>
              )}
              <a
                className="btn"
                href={roomPath(room)}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(roomPath(room));
                }}
              >
                Open the room
              </a>
            </div>
          </div>
        </main>
      ) : (
        <>
          {view.problem && (
            <div className="connection-banner replay-problem" role="alert">
              <strong>{view.problem}</strong>
              <button type="button" className="btn btn-small" onClick={() => player?.retry()}>
                Retry
              </button>
            </div>
          )}
          <main className="workspace">
            <div className="editor-column">
              <div className="editor-toolbar">
                <FileTabs
                  files={paths}
                  active={current}
                  entry={entry}
                  adding={false}
                  onAddingChange={() => {}}
                  suggestedName=""
                  onOpen={(p) => {
                    following.current = false;
                    setActive(p);
                  }}
                  onAdd={() => null}
                  onRename={() => null}
                  onDelete={() => {}}
                  readOnly
                />
                <span className="replay-language" title="The room's language at this moment">
                  {languageId ?? ''}
                </span>
              </div>
              <div className="editor-frame">
                {doc && player && (
                  <ReplayEditor doc={doc} awareness={player.presence.awareness} path={current} text={text} monacoLanguage={currentLanguage.monaco} theme={theme} />
                )}
                {!doc && (
                  <div className="editor-overlay" role="status">
                    {view.problem ? 'This moment could not be loaded.' : 'Loading the recording…'}
                  </div>
                )}
              </div>
              <RunPanel room={room} doc={doc ?? undefined} synced={doc !== null} name="" files={paths} entry={entry} onEntryChange={() => {}} readOnly />
            </div>
            <aside className="sidebar">
              {player && <PresentPeople awareness={player.presence.awareness} />}
              {player && tl && <Moments player={player} view={view} />}
            </aside>
          </main>
          {player && tl && (
            <footer className="player-bar" aria-label="Playback">
              <Scrubber player={player} timeline={tl} skipIdle={view.skipIdle} />
              <PlayerControls
                player={player}
                view={view}
                forking={forking}
                onPlay={() => {
                  if (!view.playing) following.current = true;
                  player.toggle();
                }}
                onFork={() => void fork()}
              />
              {forkError && (
                <p className="player-error" role="alert">
                  {forkError}
                </p>
              )}
            </footer>
          )}
        </>
      )}
      {showShortcuts && <ShortcutsDialog context="player" onClose={() => setShowShortcuts(false)} />}
    </div>
  );
}

/**
 * Whether a player key belongs to the player or to what has focus: typing fields and the
 * speed menu keep every key, a checkbox keeps Space, and the editor keeps the arrows (they
 * move its caret, to select and copy). Space on a focused button plays or pauses, as in a
 * video player (the button is not pressed); Enter presses it.
 */
function keyIsOurs(e: KeyboardEvent, kind: string): boolean {
  const el = e.target instanceof HTMLElement ? e.target : null;
  if (!el) return true;
  if (el.closest('.monaco-editor') !== null) return kind !== 'seekBy';
  if (el.isContentEditable || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return false;
  if (el instanceof HTMLInputElement) return el.type === 'checkbox' || el.type === 'radio' ? kind !== 'toggle' : false;
  return true;
}

function PlayerControls({ player, view, forking, onPlay, onFork }: { player: Player; view: PlayerView; forking: boolean; onPlay: () => void; onFork: () => void }) {
  const tl = view.timeline!;
  const now = usePlayhead(player, (t) => formatTime(t - tl.startMs, tl.durationMs), '0:00');
  const atEnd = usePlayhead(player, (t) => t >= tl.endMs, false);
  const skipping = usePlayhead(player, (t) => player.timeMap?.inSkippedGap(t) ?? false, false);
  return (
    <div className="player-controls">
      <button
        type="button"
        className="btn btn-primary play-button"
        onClick={onPlay}
        aria-label={view.playing ? 'Pause' : atEnd ? 'Play again' : 'Play'}
        aria-keyshortcuts="Space"
        title={view.playing ? 'Pause (Space)' : 'Play (Space)'}
        data-playing={view.playing ? 'true' : 'false'}
      >
        {view.playing ? <IconPause /> : <IconPlay />}
      </button>
      <button type="button" className="icon-btn" onClick={() => player.prevMarker()} aria-label="Previous marker" title="Previous marker ([)" aria-keyshortcuts="[">
        <IconPrevMarker />
      </button>
      <button type="button" className="icon-btn" onClick={() => player.nextMarker()} aria-label="Next marker" title="Next marker (])" aria-keyshortcuts="]">
        <IconNextMarker />
      </button>
      <span className="replay-time" data-testid="replay-time">
        <span className="replay-now" aria-label="Current time">
          {now}
        </span>
        <span aria-hidden="true"> / </span>
        <span className="replay-total" aria-label="Total time">
          {formatTime(tl.durationMs)}
        </span>
      </span>
      {view.waiting && (
        <span className="replay-waiting" role="status">
          <span className="run-spinner" aria-hidden="true" /> Loading…
        </span>
      )}
      {skipping && !view.waiting && <span className="replay-skipping">Skipping idle time…</span>}
      <div className="spacer" />
      <label className="replay-toggle" title="Gaps over 10 s with nothing happening play in about a second">
        <input type="checkbox" checked={view.skipIdle} onChange={(e) => player.setSkipIdle(e.target.checked)} />
        Skip idle
      </label>
      <label className="replay-speed">
        <span className="visually-hidden">Speed</span>
        <select aria-label="Speed" value={view.speed} onChange={(e) => player.setSpeed(Number(e.target.value))}>
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {formatSpeed(s)}
            </option>
          ))}
        </select>
      </label>
      <button type="button" className="btn fork-button" onClick={onFork} disabled={forking || view.doc === null} title="A new room holding the code as it stood at this moment">
        {forking ? 'Opening…' : 'Open a copy from here'}
      </button>
    </div>
  );
}

/**
 * Who was there at the playhead: the room's participant list over the recorded presence.
 * Its own component, so that the carets moving (many times a second while playing) do not
 * re-render the page; it re-renders only when the list itself changes.
 */
function PresentPeople({ awareness }: { awareness: Awareness }) {
  const states = useAwarenessStates(awareness);
  const list = useMemo(() => participantsOf(states, -1), [states]);
  const key = list.map((p) => `${p.clientId}|${p.name}|${p.color}|${p.file ?? ''}|${p.tabs}`).join('\n');
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const people = useMemo(() => list, [key]);
  return <MemoParticipants participants={people} />;
}

const MemoParticipants = memo(function MemoParticipants({ participants }: { participants: Participant[] }) {
  return <Participants participants={participants} reconnecting={false} onRenameSelf={() => {}} />;
});

/** The markers as a list: the keyboard's and screen reader's way to them; the one passed last is marked. */
function Moments({ player, view }: { player: Player; view: PlayerView }) {
  const tl = view.timeline!;
  const markers = tl.markers;
  const passed = usePlayhead(
    player,
    (t) => {
      let lo = 0;
      let hi = markers.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (markers[mid]!.tMs <= t) lo = mid + 1;
        else hi = mid;
      }
      return lo - 1;
    },
    -1,
  );
  return (
    <section className="panel moments-panel" aria-labelledby="moments-title">
      <header className="panel-header">
        <h2 id="moments-title">Moments</h2>
        <span className="panel-meta">{markers.length}</span>
      </header>
      {markers.length === 0 ? (
        <p className="panel-body panel-note">No runs, joins, leaves or pastes were recorded.</p>
      ) : (
        <ol className="moments">
          {markers.map((m, i) => (
            <li key={`${m.tMs}:${i}`}>
              <button
                type="button"
                className={`moment kind-${m.kind}${i === passed ? ' current' : ''}`}
                aria-current={i === passed ? 'true' : undefined}
                data-kind={m.kind}
                onClick={() => player.seek(m.tMs)}
              >
                <span className="moment-time">{formatTime(m.tMs - tl.startMs, tl.durationMs)}</span>
                <span className="moment-text">{markerText(m, tl.participants)}</span>
              </button>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

