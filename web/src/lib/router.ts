/** Three routes, `/` (lobby), `/r/{room}` (room) and `/r/{room}/replay` (player), on the History API. */
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

export type Route = { page: 'lobby'; notice?: string } | { page: 'room'; room: string } | { page: 'replay'; room: string };

export function routeOf(pathname: string, isValidRoom: (id: string) => boolean): Route {
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
