/**
 * The accounts and access routes of the server (README "Accounts and access API"), and the
 * sentences the app shows for their refusals. No React. Same origin only: the session
 * cookie rides by itself; a guest's invite link rides as `?invite=…&name=…`.
 */

export type Role = 'owner' | 'editor' | 'viewer';
export type Visibility = 'public' | 'private';

/** A refused or failed request: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Seconds, from `Retry-After` (429). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A guest's credentials in one room: the invite token of their link and their name. */
export interface GuestPass {
  invite: string;
  name: string;
}

/** `?invite=…&name=…` for a guest, `''` otherwise. */
export function guestQuery(guest: GuestPass | null | undefined): string {
  if (!guest) return '';
  return `?${new URLSearchParams({ invite: guest.invite, name: guest.name }).toString()}`;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Seconds from a `Retry-After` header (delta-seconds only; the server sends nothing else). */
export function parseRetryAfter(value: string | null): number | null {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return null;
  return Number.parseInt(value, 10);
}

/** "5 s", "2 min", "1 min 30 s": how long to wait, for people. */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest === 0 ? `${m} min` : `${m} min ${rest} s`;
}

export async function request<T>(method: string, path: string, body?: unknown, fetchImpl: FetchLike = fetch): Promise<T> {
  let res: Response;
  try {
    res = await fetchImpl(path, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    const why = e instanceof Error && e.message ? ` (${e.message})` : '';
    throw new ApiError(0, `Could not reach the server${why}. Check the connection and try again.`);
  }
  let json: unknown = null;
  if (res.status !== 204) {
    try {
      json = await res.json();
    } catch {
      // a proxy's error page, or nothing: the status speaks
    }
  }
  if (!res.ok) {
    const error = json && typeof json === 'object' && 'error' in json && typeof json.error === 'string' ? json.error : `the server answered ${res.status}`;
    throw new ApiError(res.status, error, res.status === 429 ? parseRetryAfter(res.headers.get('retry-after')) : null);
  }
  return json as T;
}

/** What a sign-in or sign-up refusal means, in a sentence for the form. */
export function authErrorMessage(action: 'login' | 'signup', e: unknown): string {
  if (!(e instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (e.status) {
    case 0:
      return e.message;
    case 401:
      return action === 'login' ? 'Wrong username or password.' : e.message;
    case 409:
      return 'That username is taken. Pick another one.';
    case 429:
      return e.retryAfter !== null
        ? `Too many attempts. Wait ${formatWait(e.retryAfter)} and try again.`
        : 'Too many attempts. Wait a minute and try again.';
    case 400:
      return sentence(e.message);
    default:
      return `The server could not do that (${e.status}): ${e.message}.`;
  }
}

/** Capitalised, with a full stop. */
export function sentence(s: string): string {
  const t = s.trim();
  if (t === '') return t;
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
}

// ---- accounts ----

/** The server's rules (crates/server/src/auth: usernames 3-32 of a-z 0-9 _ . -, passwords 8-1024 bytes). */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
export const MIN_PASSWORD = 8;

/** What is wrong with the form before asking the server, or null. */
export function checkCredentials(mode: 'login' | 'signup', username: string, password: string): string | null {
  if (username.trim() === '') return 'Enter your username.';
  if (mode === 'signup' && !USERNAME_PATTERN.test(username.trim())) return 'A username is 3 to 32 letters, digits, _ . or -.';
  if (password === '') return 'Enter your password.';
  if (mode === 'signup' && new TextEncoder().encode(password).length < MIN_PASSWORD) return `A password has at least ${MIN_PASSWORD} characters.`;
  return null;
}


export interface Me {
  username: string;
}

export const me = () => request<Me>('GET', '/api/me');
export const signup = (username: string, password: string) => request<Me>('POST', '/api/auth/signup', { username, password });
export const login = (username: string, password: string) => request<Me>('POST', '/api/auth/login', { username, password });
export const logout = () => request<null>('POST', '/api/auth/logout');

// ---- rooms ----

export interface OwnedRoom {
  room: string;
  owner: string;
  visibility: Visibility;
  role: Role;
  created_ms: number;
}

const roomApi = (room: string, rest = '') => `/api/rooms/${encodeURIComponent(room)}${rest}`;

export const myRooms = () => request<{ rooms: OwnedRoom[] }>('GET', '/api/rooms').then((r) => r.rooms);
export const createRoom = (visibility: Visibility) => request<OwnedRoom>('POST', '/api/rooms', { visibility });
export const deleteRoom = (room: string) => request<null>('DELETE', roomApi(room));

export interface RoomAccess {
  room: string;
  role: Role | null;
  owned: boolean;
  owner: string | null;
  visibility: Visibility | null;
  you: { kind: 'user' | 'guest' | 'anonymous'; name: string | null };
}

export const roomAccess = (room: string, guest?: GuestPass | null) => request<RoomAccess>('GET', roomApi(room, `/access${guestQuery(guest)}`));

/** A present Yjs client with the role the server gave its connection. */
export interface PresentClient {
  client: number;
  role: Role | null;
  kind: 'user' | 'guest' | 'anonymous';
}

export const roomPeople = (room: string, guest?: GuestPass | null) =>
  request<{ people: PresentClient[] }>('GET', roomApi(room, `/people${guestQuery(guest)}`)).then((r) => r.people);

// ---- invites and members (the owner) ----

export interface Invite {
  id: string;
  role: Role;
  created_by: string;
  created_ms: number;
  expires_ms: number | null;
  expired: boolean;
}

export interface NewInvite {
  id: string;
  token: string;
  url: string;
  role: Role;
  created_ms: number;
  expires_ms: number | null;
}

export const createInvite = (room: string, role: 'editor' | 'viewer', expiresInS: number | null) =>
  request<NewInvite>('POST', roomApi(room, '/invites'), { role, expires_in_s: expiresInS });
export const listInvites = (room: string) => request<{ invites: Invite[] }>('GET', roomApi(room, '/invites')).then((r) => r.invites);
export const revokeInvite = (room: string, id: string) => request<null>('DELETE', roomApi(room, `/invites/${encodeURIComponent(id)}`));

export interface Member {
  username: string;
  role: Role;
  added_ms: number;
}

export const listMembers = (room: string) => request<{ owner: string; members: Member[] }>('GET', roomApi(room, '/members'));
export const setMember = (room: string, username: string, role: 'editor' | 'viewer') =>
  request<{ username: string; role: Role }>('PUT', roomApi(room, `/members/${encodeURIComponent(username)}`), { role });
export const removeMember = (room: string, username: string) => request<null>('DELETE', roomApi(room, `/members/${encodeURIComponent(username)}`));
