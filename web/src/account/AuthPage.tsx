/** Sign in (`/login`) and sign up (`/signup`): one form, clear refusals, then back to `?next=`. */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { authErrorMessage, checkCredentials, login, signup, ApiError } from '../lib/api';
import { setSignedIn, useAccount } from '../lib/account';
import { authPath, navigate, nextFromSearch } from '../lib/router';
import { useTheme } from '../lib/theme';
import { IconMoon, IconSun, Logo } from '../components/icons';

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  /** 429: the form stays disabled until then (Unix ms). */
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [theme, toggleTheme] = useTheme();
  const account = useAccount();
  const next = nextFromSearch(location.search);
  const first = useRef<HTMLInputElement>(null);
  const isLogin = mode === 'login';

  useEffect(() => {
    document.title = `${isLogin ? 'Sign in' : 'Sign up'} · PeerCode`;
    first.current?.focus();
    return () => {
      document.title = 'PeerCode';
    };
  }, [isLogin]);

  // The wait of a 429 counts down on the button; the form opens again at its end.
  const [, tick] = useState(0);
  useEffect(() => {
    if (waitUntil === null) return;
    const t = setInterval(() => {
      if (Date.now() >= waitUntil) {
        setWaitUntil(null);
        setError(null);
      } else tick((n) => n + 1);
    }, 1000);
    return () => clearInterval(t);
  }, [waitUntil]);
  const waitLeft = waitUntil === null ? 0 : Math.max(0, Math.ceil((waitUntil - Date.now()) / 1000));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || waitUntil !== null) return;
    const problem = checkCredentials(mode, username, password);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const who = await (isLogin ? login : signup)(username.trim(), password);
      setSignedIn(who.username);
      navigate(next, true);
    } catch (err) {
      setError(authErrorMessage(mode, err));
      if (err instanceof ApiError && err.status === 429) setWaitUntil(Date.now() + (err.retryAfter ?? 60) * 1000);
      if (err instanceof ApiError && err.status === 401) setPassword('');
      setBusy(false);
    }
  };

  const other = isLogin ? 'signup' : 'login';
  return (
    <div className="page auth-page">
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
        <div className="spacer" />
        <button type="button" className="icon-btn" onClick={toggleTheme} aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}>
          {theme === 'dark' ? <IconSun /> : <IconMoon />}
        </button>
      </header>
      <main className="lobby-main">
        <div className="lobby-hero">
          <h1>{isLogin ? 'Sign in' : 'Create an account'}</h1>
          <p className="lead">{isLogin ? 'Your rooms, and the rooms you were invited to.' : 'Own rooms, keep them private, and share links with a role.'}</p>
        </div>
        {account.state === 'signed-in' && (
          <p className="hint" role="status">
            You are signed in as <strong>{account.username}</strong>.
          </p>
        )}
        <form className="card lobby-card auth-form" onSubmit={(e) => void submit(e)} noValidate aria-label={isLogin ? 'Sign in' : 'Sign up'}>
          <label className="field">
            <span>Username</span>
            <input
              ref={first}
              name="username"
              value={username}
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              maxLength={32}
              aria-invalid={error !== null && /username/i.test(error)}
              onChange={(e) => {
                setUsername(e.target.value);
                if (waitUntil === null) setError(null);
              }}
            />
          </label>
          <label className="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              value={password}
              autoComplete={isLogin ? 'current-password' : 'new-password'}
              maxLength={1024}
              aria-invalid={error !== null && /password/i.test(error)}
              onChange={(e) => {
                setPassword(e.target.value);
                if (waitUntil === null) setError(null);
              }}
            />
          </label>
          {!isLogin && <p className="hint">3 to 32 letters, digits, _ . or - (not case-sensitive); a password of at least 8 characters.</p>}
          {error && (
            <p className="field-error" role="alert" data-testid="auth-error">
              {error}
            </p>
          )}
          <button type="submit" className="btn btn-primary btn-wide" disabled={busy || waitUntil !== null}>
            {waitUntil !== null ? `Wait ${waitLeft} s` : busy ? (isLogin ? 'Signing in…' : 'Creating…') : isLogin ? 'Sign in' : 'Sign up'}
          </button>
          <p className="hint auth-switch">
            {isLogin ? 'No account yet? ' : 'Already have an account? '}
            <a
              href={authPath(other, next)}
              onClick={(e) => {
                e.preventDefault();
                navigate(authPath(other, next), true);
              }}
            >
              {isLogin ? 'Sign up' : 'Sign in'}
            </a>
            {' · '}
            <a
              href="/"
              onClick={(e) => {
                e.preventDefault();
                navigate('/');
              }}
            >
              Continue without an account
            </a>
          </p>
        </form>
      </main>
    </div>
  );
}
