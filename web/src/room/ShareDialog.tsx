/**
 * The owner's share dialog: make an editor or viewer link (with an expiry) and copy it, see
 * and revoke the room's links, and manage its members (role, remove, add by username).
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Modal } from '../components/Modal';
import {
  ApiError,
  createInvite,
  listInvites,
  listMembers,
  removeMember,
  revokeInvite,
  sentence,
  setMember,
  type Invite,
  type Member,
  type NewInvite,
  type Visibility,
} from '../lib/api';
import { DEFAULT_EXPIRY_S, EXPIRY_CHOICES, expiryText } from '../lib/access';
import { timeAgo } from '../lib/recentRooms';

interface Props {
  room: string;
  visibility: Visibility | null;
  onClose: () => void;
  /** Copies a text; says whether it worked (the dialog shows the link either way). */
  copy: (text: string) => Promise<boolean>;
}

const why = (e: unknown) => (e instanceof ApiError ? sentence(e.message) : 'Something went wrong.');

export function ShareDialog({ room, visibility, onClose, copy }: Props) {
  const [role, setRole] = useState<'editor' | 'viewer'>('viewer');
  const [expiry, setExpiry] = useState<number | null>(DEFAULT_EXPIRY_S);
  const [made, setMade] = useState<NewInvite | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [newMember, setNewMember] = useState('');
  const [newMemberRole, setNewMemberRole] = useState<'editor' | 'viewer'>('editor');

  const reload = useCallback(async () => {
    try {
      const [i, m] = await Promise.all([listInvites(room), listMembers(room)]);
      setInvites(i);
      setMembers(m.members);
    } catch (e) {
      setError(why(e));
    }
  }, [room]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const act = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
      await reload();
    } catch (e) {
      setError(why(e));
    }
    setBusy(false);
  };

  const link = made ? location.origin + made.url : null;

  const make = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const invite = await createInvite(room, role, expiry);
      setMade(invite);
      const ok = await copy(location.origin + invite.url);
      setCopied(ok ? 'yes' : 'no');
    });
  };

  const addMember = (e: FormEvent) => {
    e.preventDefault();
    const name = newMember.trim();
    if (!name) return;
    void act(async () => {
      await setMember(room, name, newMemberRole);
      setNewMember('');
    });
  };

  const now = Date.now();
  return (
    <Modal title="Share this room" onClose={onClose}>
      <div className="share-dialog stack">
        <p className="hint">
          {visibility === 'private'
            ? 'This room is private: only you, its members and people with a link can open it.'
            : 'This room is public: anyone with its address can watch. A link or a membership lets people edit.'}
        </p>
        <form className="share-make row" onSubmit={make} aria-label="Make an invite link">
          <label className="field-inline">
            <span>Role</span>
            <select name="invite-role" aria-label="Role of the link" value={role} onChange={(e) => setRole(e.target.value as 'editor' | 'viewer')}>
              <option value="editor">Can edit</option>
              <option value="viewer">Can view</option>
            </select>
          </label>
          <label className="field-inline">
            <span>Expires</span>
            <select
              name="invite-expiry"
              aria-label="Link expires after"
              value={expiry === null ? 'never' : String(expiry)}
              onChange={(e) => setExpiry(e.target.value === 'never' ? null : Number(e.target.value))}
            >
              {EXPIRY_CHOICES.map((c) => (
                <option key={c.label} value={c.seconds === null ? 'never' : String(c.seconds)}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn btn-primary btn-small" disabled={busy}>
            Create link
          </button>
        </form>
        {link && made && (
          <div className="share-link" data-role={made.role}>
            <input readOnly value={link} aria-label="Invite link" onFocus={(e) => e.currentTarget.select()} />
            <button
              type="button"
              className="btn btn-small"
              onClick={async () => setCopied((await copy(link)) ? 'yes' : 'no')}
            >
              Copy
            </button>
            <p className="hint" role="status">
              {copied === 'yes' ? 'Copied. ' : copied === 'no' ? 'Copy it from the box. ' : ''}A {made.role === 'editor' ? 'can-edit' : 'view-only'} link,{' '}
              {expiryText(made.expires_ms, now)}. It is shown this once: keep it, or make another.
            </p>
          </div>
        )}
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <section aria-labelledby="share-links-title">
          <h3 id="share-links-title" className="share-heading">
            Links
          </h3>
          {invites === null ? (
            <p className="hint">Loading…</p>
          ) : invites.length === 0 ? (
            <p className="hint">No links yet.</p>
          ) : (
            <ul className="share-list" aria-label="Invite links">
              {invites.map((i) => (
                <li key={i.id} data-invite={i.id} data-expired={i.expired || undefined}>
                  <span className={`role-badge role-${i.role}`}>{i.role}</span>
                  <span className="share-what">
                    made {timeAgo(i.created_ms, now)} · <span className={i.expired ? 'expired' : ''}>{i.expired ? 'expired' : expiryText(i.expires_ms, now)}</span>
                  </span>
                  <button type="button" className="btn btn-small" disabled={busy} onClick={() => void act(() => revokeInvite(room, i.id))} aria-label={`Revoke the ${i.role} link made ${timeAgo(i.created_ms, now)}`}>
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="share-members-title">
          <h3 id="share-members-title" className="share-heading">
            Members
          </h3>
          {members !== null && members.length === 0 && <p className="hint">No members yet: add someone by their username.</p>}
          {members !== null && members.length > 0 && (
            <ul className="share-list" aria-label="Members">
              {members.map((m) => (
                <li key={m.username} data-member={m.username}>
                  <span className="share-what member-name">{m.username}</span>
                  <select
                    aria-label={`Role of ${m.username}`}
                    value={m.role}
                    disabled={busy}
                    onChange={(e) => void act(() => setMember(room, m.username, e.target.value as 'editor' | 'viewer'))}
                  >
                    <option value="editor">Editor</option>
                    <option value="viewer">Viewer</option>
                  </select>
                  <button type="button" className="btn btn-small" disabled={busy} onClick={() => void act(() => removeMember(room, m.username))} aria-label={`Remove ${m.username}`}>
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
          <form className="row share-add" onSubmit={addMember} aria-label="Add a member">
            <input name="member" placeholder="Username" aria-label="Username to add" value={newMember} autoCapitalize="none" spellCheck={false} maxLength={32} onChange={(e) => setNewMember(e.target.value)} />
            <select aria-label="Role of the new member" value={newMemberRole} onChange={(e) => setNewMemberRole(e.target.value as 'editor' | 'viewer')}>
              <option value="editor">Editor</option>
              <option value="viewer">Viewer</option>
            </select>
            <button type="submit" className="btn btn-small" disabled={busy || newMember.trim() === ''}>
              Add
            </button>
          </form>
        </section>
        <div className="row end">
          <button type="button" className="btn" onClick={onClose}>
            Done
          </button>
        </div>
      </div>
    </Modal>
  );
}
