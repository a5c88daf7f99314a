/** The rooms this browser visited, most recent first, shown in the lobby. */
import { load, save } from './storage';
import { isValidRoomId } from './roomId';

const KEY = 'peercode.recentRooms';
export const MAX_RECENT = 8;

export interface RecentRoom {
  id: string;
  /** Milliseconds since the epoch of the last visit. */
  visitedAt: number;
}

export function parseRecent(raw: string | null): RecentRoom[] {
  if (!raw) return [];
  try {
    const data: unknown = JSON.parse(raw);
    if (!Array.isArray(data)) return [];
    return data
      .filter(
        (r): r is RecentRoom =>
          typeof r === 'object' &&
          r !== null &&
          typeof (r as RecentRoom).id === 'string' &&
          isValidRoomId((r as RecentRoom).id) &&
          typeof (r as RecentRoom).visitedAt === 'number',
      )
      .slice(0, MAX_RECENT);
  } catch {
    return [];
  }
}

export function withVisit(list: RecentRoom[], id: string, now: number): RecentRoom[] {
  return [{ id, visitedAt: now }, ...list.filter((r) => r.id !== id)].slice(0, MAX_RECENT);
}

export function recentRooms(): RecentRoom[] {
  return parseRecent(load(KEY));
}

export function rememberRoom(id: string): void {
  save(KEY, JSON.stringify(withVisit(recentRooms(), id, Date.now())));
}

export function forgetRoom(id: string): RecentRoom[] {
  const next = recentRooms().filter((r) => r.id !== id);
  save(KEY, JSON.stringify(next));
  return next;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function timeAgo(then: number, now: number): string {
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  return d === 1 ? 'yesterday' : `${d} days ago`;
}
