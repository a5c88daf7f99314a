/**
 * Who is signed in on this browser (the session cookie is HttpOnly: `GET /api/me` says),
 * shared by every page: `useAccount()` re-renders when it changes. Only a browser that
 * signed in here asks (a hint in localStorage): someone who never did makes no request and
 * gets no 401 in the console on every page.
 */
import { useEffect, useSyncExternalStore } from 'react';
import { ApiError, me } from './api';
import { load, save } from './storage';

export type AccountState = { state: 'unknown' } | { state: 'signed-out' } | { state: 'signed-in'; username: string };

const HINT_KEY = 'peercode.account';

let current: AccountState = load(HINT_KEY) ? { state: 'unknown' } : { state: 'signed-out' };
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

function set(next: AccountState): void {
  current = next;
  if (next.state === 'signed-in') save(HINT_KEY, next.username);
  else if (next.state === 'signed-out') save(HINT_KEY, '');
  listeners.forEach((l) => l());
}

/** Ask the server again (after a page load, or when a request said the session is gone). */
export function refreshAccount(): Promise<void> {
  loading ??= me()
    .then(
      (m) => set({ state: 'signed-in', username: m.username }),
      (e) => {
        // Unreachable: keep what we knew; the pages say the server is down on their own.
        if (e instanceof ApiError && e.status === 401) set({ state: 'signed-out' });
        else if (current.state === 'unknown') set({ state: 'signed-out' });
      },
    )
    .finally(() => {
      loading = null;
    });
  return loading;
}

export function setSignedIn(username: string): void {
  set({ state: 'signed-in', username });
}

export function setSignedOut(): void {
  set({ state: 'signed-out' });
}

export function useAccount(): AccountState {
  const state = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
  const unknown = state.state === 'unknown';
  useEffect(() => {
    if (unknown && loading === null) void refreshAccount();
  }, [unknown]);
  return state;
}
