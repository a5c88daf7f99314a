/**
 * Access in the app without React: the invite link in a URL, a link's expiry choices and
 * how it reads, the badge a participant gets from what the server says of their
 * connection, and the sentences for a refused room or a closed connection.
 */
import type { PresentClient, Role } from './api';

/** What the server accepts as a secret (auth/secret.rs `plausible`): anything else is not a link. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/** The invite token of a room URL's `?invite=`, or null. */
export function inviteFromSearch(search: string): string | null {
  const token = new URLSearchParams(search).get('invite');
  return token !== null && TOKEN_PATTERN.test(token) ? token : null;
}

/** A link's life, as the share dialog offers it (the server takes 60 s to 30 days, or none). */
export const EXPIRY_CHOICES: ReadonlyArray<{ label: string; seconds: number | null }> = [
  { label: '1 hour', seconds: 3600 },
  { label: '1 day', seconds: 24 * 3600 },
  { label: '7 days', seconds: 7 * 24 * 3600 },
  { label: '30 days', seconds: 30 * 24 * 3600 },
  { label: 'Never', seconds: null },
];
/** A link pasted into a chat should not work forever unless asked: a week by default. */
export const DEFAULT_EXPIRY_S = 7 * 24 * 3600;

/** "never expires", "expired", "expires in 5 min" / "in 3 h" / "in 6 days". */
export function expiryText(expiresMs: number | null, now: number): string {
  if (expiresMs === null) return 'never expires';
  const left = expiresMs - now;
  if (left <= 0) return 'expired';
  const min = Math.ceil(left / 60_000);
  if (min < 60) return `expires in ${min} min`;
  const h = Math.round(left / 3_600_000);
  if (h < 48) return `expires in ${h} h`;
  return `expires in ${Math.round(left / 86_400_000)} days`;
}

export type Badge = 'owner' | 'editor' | 'viewer' | 'guest';

/**
 * The badge for a participant: guests (by link, no account) are "guest" whatever their
 * link's role (the tooltip says it); others their role. None in a room nobody owns (all
 * are editors there) or before the server has said.
 */
export function badgeOf(present: PresentClient | undefined, owned: boolean): Badge | null {
  if (!owned || !present || present.role === null) return null;
  if (present.kind === 'guest') return 'guest';
  return present.role;
}

export function badgeTitle(present: PresentClient | undefined): string {
  if (!present || present.role === null) return '';
  const what: Record<Role, string> = { owner: 'owns the room', editor: 'can edit', viewer: 'can only view' };
  return present.kind === 'guest' ? `Guest by invite link: ${what[present.role]}` : `${capital(present.role)}: ${what[present.role]}`;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Why a room cannot be opened, for the page shown instead of it. */
export interface Refusal {
  title: string;
  detail: string;
  /** Offer to sign in (and come back). */
  signIn: boolean;
}

export function refusalOf(status: number, serverMessage: string, opts: { invite: boolean; signedIn: boolean }): Refusal {
  if (status === 401 && opts.invite) {
    return /expired/.test(serverMessage)
      ? { title: 'This invite link has expired', detail: 'Ask the room’s owner for a new link.', signIn: false }
      : { title: 'This invite link no longer works', detail: 'It was revoked, or it was never valid. Ask the room’s owner for a new link.', signIn: false };
  }
  if (status === 401) return { title: 'Sign in to open this room', detail: 'Your session has ended, or this room needs an account.', signIn: true };
  if (status === 404)
    return {
      title: 'This room is private',
      detail: opts.signedIn
        ? 'You have no access to it, or it does not exist. Ask its owner for an invite link.'
        : 'Sign in if it is yours or you are a member, or open it with an invite link.',
      signIn: !opts.signedIn,
    };
  if (status === 403) return { title: 'You cannot open this room', detail: serverMessage, signIn: !opts.signedIn };
  if (status === 429) return { title: 'Too many attempts', detail: 'Wait a moment, then reload.', signIn: false };
  if (status === 0) return { title: 'Cannot reach the server', detail: serverMessage, signIn: false };
  return { title: 'This room could not be opened', detail: `The server answered ${status}: ${serverMessage}`, signIn: false };
}

/** The server's access close codes (README "WebSocket close codes of access"). */
export const CLOSE_ACCESS_REVOKED = 4003;
export const CLOSE_ROOM_DELETED = 4004;

/** The sentence for a connection the server closed for good, or null for one that reconnects. */
export function closedFor(code: number, reason: string): Refusal | null {
  if (code === CLOSE_ACCESS_REVOKED)
    return {
      title: 'Your access to this room was revoked',
      detail: /expired/.test(reason)
        ? 'The invite link you came with has expired. Ask the room’s owner for a new one.'
        : /invite link/.test(reason)
          ? 'The owner revoked the invite link you came with.'
          : 'The owner removed you from this room.',
      signIn: false,
    };
  if (code === CLOSE_ROOM_DELETED) return { title: 'This room was deleted', detail: 'Its owner deleted it, with its history.', signIn: false };
  if (code === 1008 && /guest/i.test(reason)) return { title: 'This room is full', detail: sentenceOf(reason), signIn: false };
  return null;
}

function sentenceOf(s: string): string {
  return s ? capital(s.replace(/\.?$/, '.')) : '';
}
