/** "My rooms" for a signed-in user: owned and member-of rooms, new owned rooms, deleting one's own. */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, createRoom, deleteRoom, myRooms, sentence, type OwnedRoom, type Visibility } from '../lib/api';
import { setSignedOut } from '../lib/account';
import { roomPath } from '../lib/roomId';
import { timeAgo } from '../lib/recentRooms';
import { Modal } from '../components/Modal';
import { IconGlobe, IconLock, IconTrash } from '../components/icons';

interface Props {
  /** Opens a room (saving the display name first). */
  onOpen: (room: string) => void;
}

export function MyRooms({ onOpen }: Props) {
  const [rooms, setRooms] = useState<OwnedRoom[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<Visibility | null>(null);
  const [confirm, setConfirm] = useState<OwnedRoom | null>(null);
  const [deleting, setDeleting] = useState(false);

  const fail = useCallback((e: unknown) => {
    if (e instanceof ApiError && e.status === 401) setSignedOut();
    setError(e instanceof ApiError ? sentence(e.message) : 'Something went wrong.');
  }, []);

  const load = useCallback(() => {
    myRooms().then((r) => {
      setRooms(r);
      setError(null);
    }, fail);
  }, [fail]);
  useEffect(load, [load]);

  const create = async (visibility: Visibility) => {
    setBusy(visibility);
    setError(null);
    try {
      const room = await createRoom(visibility);
      onOpen(room.room);
    } catch (e) {
      fail(e);
      setBusy(null);
    }
  };

  const remove = async (room: OwnedRoom) => {
    setDeleting(true);
    try {
      await deleteRoom(room.room);
      setRooms((list) => list?.filter((r) => r.room !== room.room) ?? null);
      setConfirm(null);
    } catch (e) {
      fail(e);
      setConfirm(null);
    }
    setDeleting(false);
  };

  return (
    <section className="card my-rooms" aria-labelledby="my-rooms-title">
      <h2 id="my-rooms-title">My rooms</h2>
      <div className="row my-rooms-new">
        <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => void create('private')} title="Only you, members and holders of an invite link can open it">
          <IconLock /> New private room
        </button>
        <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => void create('public')} title="Anyone with its address can watch; only you and whom you invite can edit">
          <IconGlobe /> New public room
        </button>
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {rooms === null && !error && <p className="hint">Loading…</p>}
      {rooms !== null && rooms.length === 0 && <p className="hint">No rooms yet. A room you create is yours: private or public, with the roles you give.</p>}
      {rooms !== null && rooms.length > 0 && (
        <ul aria-label="My rooms">
          {rooms.map((r) => (
            <li key={r.room} data-room={r.room}>
              <span className="room-visibility" title={r.visibility === 'private' ? 'Private' : 'Public'} aria-label={r.visibility}>
                {r.visibility === 'private' ? <IconLock /> : <IconGlobe />}
              </span>
              <a
                href={roomPath(r.room)}
                onClick={(e) => {
                  e.preventDefault();
                  onOpen(r.room);
                }}
              >
                {r.room}
              </a>
              <span className={`role-badge role-${r.role}`}>{r.role}</span>
              <span className="when">{r.role === 'owner' ? timeAgo(r.created_ms, Date.now()) : `by ${r.owner}`}</span>
              {r.role === 'owner' && (
                <button type="button" className="icon-btn" aria-label={`Delete ${r.room}`} title="Delete this room and its history" onClick={() => setConfirm(r)}>
                  <IconTrash />
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {confirm && (
        <Modal title={`Delete ${confirm.room}?`} onClose={() => !deleting && setConfirm(null)}>
          <p>The room, its files and its whole history are deleted for everyone; anyone in it is disconnected. This cannot be undone.</p>
          <div className="row end">
            <button type="button" className="btn" onClick={() => setConfirm(null)} disabled={deleting}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" onClick={() => void remove(confirm)} disabled={deleting}>
              {deleting ? 'Deleting…' : 'Delete room'}
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
