/**
 * The routes, on the History API: `/` (lobby), `/login` and `/signup` (with `?next=` the path
 * to go back to), `/r/{room}` (room) and `/r/{room}/replay` (player).
 */
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
if (typeof window !== 'undefined') window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  listeners.forEach((l) => l());
}

export function usePathname(): string {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => location.pathname,
  );
}

export type Route =
  | { page: 'lobby'; notice?: string }
  | { page: 'login' }
  | { page: 'signup' }
  | { page: 'room'; room: string }
  | { page: 'replay'; room: string };

export function routeOf(pathname: string, isValidRoom: (id: string) => boolean): Route {
  if (/^\/login\/?$/.test(pathname)) return { page: 'login' };
  if (/^\/signup\/?$/.test(pathname)) return { page: 'signup' };
  const m = /^\/r\/([^/]+)(\/replay)?\/?$/.exec(pathname);
  if (m && m[1] !== undefined) {
    let id = m[1];
    try {
      id = decodeURIComponent(id);
    } catch {
      return { page: 'lobby', notice: 'That room link is not valid.' };
    }
    if (!isValidRoom(id)) return { page: 'lobby', notice: 'That room link is not valid.' };
    return m[2] ? { page: 'replay', room: id } : { page: 'room', room: id };
  }
  return { page: 'lobby' };
}

export function replayPath(room: string): string {
  return `/r/${encodeURIComponent(room)}/replay`;
}

/** `/login?next=…` (or `/signup`), to come back to `next` (a path of ours) once signed in. */
export function authPath(page: 'login' | 'signup', next?: string): string {
  return next && next !== '/' ? `/${page}?${new URLSearchParams({ next }).toString()}` : `/${page}`;
}

/** Where to go after signing in: `?next=` when it is a path of this app, else the lobby. */
export function nextFromSearch(search: string): string {
  const next = new URLSearchParams(search).get('next');
  // A path on this origin only: never `//host` or `/\host` (another site), nor a scheme.
  return next !== null && /^\/(?![/\\])/.test(next) ? next : '/';
}
