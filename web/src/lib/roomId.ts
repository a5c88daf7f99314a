/** Room ids: what the server accepts in `/ws/{room}` and what the app puts in `/r/{room}`. */

/** Letters and digits that cannot be mistaken for one another when read aloud or copied by hand. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/**
 * The server's rule (crates/server/src/rooms: `valid_room_name`): 1 to 128 characters from
 * A-Z a-z 0-9 - _ . , not starting with a dot. The browser test `names.test.mjs` checks the
 * two agree, name by name, against the running server.
 */
export const ROOM_ID_PATTERN = /^(?!\.)[A-Za-z0-9._-]{1,128}$/;
export const ROOM_ID_RULE = '1 to 128 letters, digits, - _ or . (not starting with a dot)';

export function isValidRoomId(id: string): boolean {
  return ROOM_ID_PATTERN.test(id);
}

/** A short random id such as `k7p-m2xq-9rd` (about 50 bits). */
export function newRoomId(random: (n: number) => Uint8Array = randomBytes): string {
  const groups = [3, 4, 3];
  const bytes = random(groups.reduce((a, b) => a + b, 0));
  let i = 0;
  return groups
    .map((len) => {
      let s = '';
      for (let k = 0; k < len; k++) s += ALPHABET[(bytes[i++] ?? 0) % ALPHABET.length];
      return s;
    })
    .join('-');
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * What the user pasted into "join a room": a bare id, a path `/r/{id}`, or a whole invite
 * link. Returns the room id, or null when there is none in it.
 */
export function parseRoomInput(input: string): string | null {
  const text = input.trim();
  if (text === '') return null;
  if (isValidRoomId(text)) return text;
  let path = text;
  try {
    path = new URL(text).pathname;
  } catch {
    // not a URL: maybe a path
  }
  const m = /^\/?r\/([^/?#]+)\/?(?:[?#].*)?$/.exec(path);
  if (m && m[1] !== undefined) {
    const id = decodeURIComponent(m[1]);
    return isValidRoomId(id) ? id : null;
  }
  return null;
}

export function roomPath(id: string): string {
  return `/r/${encodeURIComponent(id)}`;
}

export function inviteLink(origin: string, id: string): string {
  return origin + roomPath(id);
}

/**
 * "Join a room" input with its invite link kept: `/r/{room}` plus `?invite=` when the pasted
 * link had one (a guest's link must keep its token), or null when there is no room in it.
 */
export function parseJoinInput(input: string): string | null {
  const room = parseRoomInput(input);
  if (room === null) return null;
  let search = '';
  try {
    search = new URL(input.trim(), 'http://x').search;
  } catch {
    search = '';
  }
  const invite = new URLSearchParams(search).get('invite');
  return invite !== null && /^[A-Za-z0-9_-]{16,128}$/.test(invite) ? `${roomPath(room)}?invite=${invite}` : roomPath(room);
}
