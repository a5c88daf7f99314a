/** The top bar's account corner: Sign in / Sign up, or the username and Sign out. */
import { useState } from 'react';
import { logout } from '../lib/api';
import { setSignedOut, useAccount } from '../lib/account';
import { authPath, navigate } from '../lib/router';

export function AccountBar({ next }: { next?: string }) {
  const account = useAccount();
  const [busy, setBusy] = useState(false);
  if (account.state === 'unknown') return <span className="account-bar" aria-hidden="true" />;
  if (account.state === 'signed-out')
    return (
      <span className="account-bar">
        <a
          className="btn btn-small"
          href={authPath('login', next)}
          onClick={(e) => {
            e.preventDefault();
            navigate(authPath('login', next));
          }}
        >
          Sign in
        </a>
        <a
          className="btn btn-small btn-primary"
          href={authPath('signup', next)}
          onClick={(e) => {
            e.preventDefault();
            navigate(authPath('signup', next));
          }}
        >
          Sign up
        </a>
      </span>
    );
  return (
    <span className="account-bar">
      <span className="account-name" title={`Signed in as ${account.username}`} data-testid="account-name">
        {account.username}
      </span>
      <button
        type="button"
        className="btn btn-small"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await logout();
          } catch {
            // the session is gone either way from this page's point of view
          }
          setSignedOut();
          setBusy(false);
        }}
      >
        Sign out
      </button>
    </span>
  );
}
