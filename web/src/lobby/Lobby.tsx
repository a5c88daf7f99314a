/** The lobby: pick a name, create a room or join one by link, reopen a recent one. */
import { useEffect, useState, type FormEvent } from 'react';
import { cleanName, MAX_NAME_LENGTH, savedName, saveName } from '../lib/identity';
import { forgetRoom, recentRooms, timeAgo, type RecentRoom } from '../lib/recentRooms';
import { newRoomId, parseJoinInput, ROOM_ID_RULE, roomPath } from '../lib/roomId';
import { navigate } from '../lib/router';
import { useTheme } from '../lib/theme';
import { IconMoon, IconSun, IconX, Logo } from '../components/icons';
import { AccountBar } from '../account/AccountBar';
import { MyRooms } from './MyRooms';
import { useAccount } from '../lib/account';

export function Lobby({ notice }: { notice?: string }) {
  const [name, setName] = useState(() => savedName() ?? '');
  const [join, setJoin] = useState('');
  const [joinError, setJoinError] = useState<string | null>(null);
  const [recent, setRecent] = useState<RecentRoom[]>(() => recentRooms());
  const [theme, toggleTheme] = useTheme();
  const account = useAccount();
  // Signed in without a display name yet: start from the username.
  const signedInAs = account.state === 'signed-in' ? account.username : null;
  useEffect(() => {
    if (signedInAs !== null) setName((n) => (n.trim() === '' ? signedInAs : n));
  }, [signedInAs]);
  const clean = cleanName(name);

  const go = (room: string) => {
    if (clean) saveName(clean);
    navigate(roomPath(room));
  };

  const onCreate = (e: FormEvent) => {
    e.preventDefault();
    go(newRoomId());
  };

  const onJoin = (e: FormEvent) => {
    e.preventDefault();
    const path = parseJoinInput(join);
    if (!path) {
      setJoinError(`Paste an invite link or a room id (${ROOM_ID_RULE}).`);
      return;
    }
    if (clean) saveName(clean);
    navigate(path);
  };

  return (
    <div className="page lobby">
      <header className="topbar">
        <span className="brand">
          <Logo />
          <span>PeerCode</span>
        </span>
        <div className="spacer" />
        <AccountBar />
        <button type="button" className="icon-btn" onClick={toggleTheme} aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}>
          {theme === 'dark' ? <IconSun /> : <IconMoon />}
        </button>
      </header>
      <main className="lobby-main">
        <div className="lobby-hero">
          <h1>Code together, live.</h1>
          <p className="lead">
            One editor, everyone's cursors, no conflicts. Open a room and send the link.
          </p>
        </div>
        {notice && (
          <p className="notice" role="alert">
            {notice}
          </p>
        )}
        <div className="card lobby-card">
          <label className="field">
            <span>Your name</span>
            <input
              name="display-name"
              value={name}
              maxLength={MAX_NAME_LENGTH}
              placeholder="e.g. Ada"
              autoComplete="nickname"
              onChange={(e) => setName(e.target.value)}
              onBlur={() => clean && saveName(clean)}
            />
          </label>
          <form onSubmit={onCreate}>
            <button type="submit" className="btn btn-primary btn-wide" disabled={!clean}>
              Create a room
            </button>
          </form>
          <div className="divider">
            <span>or join one</span>
          </div>
          <form className="join-form" onSubmit={onJoin}>
            <input
              name="join"
              aria-label="Invite link or room id"
              placeholder="Invite link or room id"
              value={join}
              aria-invalid={joinError !== null}
              onChange={(e) => {
                setJoin(e.target.value);
                setJoinError(null);
              }}
            />
            <button type="submit" className="btn" disabled={!clean || join.trim() === ''}>
              Join
            </button>
          </form>
          {joinError && (
            <p className="field-error" role="alert">
              {joinError}
            </p>
          )}
          {!clean && <p className="hint">Pick a name first: it is shown to the others.</p>}
        </div>
        {account.state === 'signed-in' && <MyRooms key={account.username} onOpen={go} />}
        {recent.length > 0 && (
          <section className="card recent" aria-labelledby="recent-title">
            <h2 id="recent-title">Recent rooms</h2>
            <ul>
              {recent.map((r) => (
                <li key={r.id}>
                  <a
                    href={roomPath(r.id)}
                    onClick={(e) => {
                      e.preventDefault();
                      go(r.id);
                    }}
                  >
                    {r.id}
                  </a>
                  <span className="when">{timeAgo(r.visitedAt, Date.now())}</span>
                  <button type="button" className="icon-btn" aria-label={`Forget ${r.id}`} title="Remove from this list" onClick={() => setRecent(forgetRoom(r.id))}>
                    <IconX />
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </main>
    </div>
  );
}
