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

/** `remember`: what the server said for sure (not a guess while it cannot be reached). */
function set(next: AccountState, remember = true): void {
  current = next;
  if (remember && next.state === 'signed-in') save(HINT_KEY, next.username);
  else if (remember && next.state === 'signed-out') save(HINT_KEY, '');
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
        // Signed out for this page, but the next one asks again.
        else if (current.state === 'unknown') set({ state: 'signed-out' }, false);
      },
    )
    .finally(() => {
      loading = null;
    });
  return loading;
}

/** The state now (`unknown`: this browser signed in before and the server has not said yet). */
export function currentAccount(): AccountState {
  return current;
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
