/**
 * The replay routes of the server (SPEC §2, issue 12): the timeline of a room's recording,
 * the document at a moment, the recorded events of a time range, and fork. Everything the
 * server sends is read defensively into camelCase types here, so the player never meets a
 * malformed answer half-way through playing. No React.
 */
import { fromBase64 } from 'lib0/buffer';

export interface ReplayParticipant {
  /** The server's key for this person (name + colour), e.g. `p0`. */
  key: string;
  name: string;
  color: string;
  /** Their Yjs client ids, one per page load. */
  clients: number[];
  firstMs: number;
  lastMs: number;
  updates: number;
}

export type MarkerKind = 'run' | 'join' | 'leave' | 'paste';

export interface ReplayMarker {
  tMs: number;
  /** One of MarkerKind, or a newer kind this app does not know yet (shown plainly). */
  kind: string;
  label: string;
  participant: string | null;
}

export interface ActivitySpan {
  participant: string;
  fromMs: number;
  toMs: number;
}

export interface TimeSpan {
  fromMs: number;
  toMs: number;
}

export interface Timeline {
  room: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  lastSeq: number;
  participants: ReplayParticipant[];
  /** Sorted by time. */
  markers: ReplayMarker[];
  activity: ActivitySpan[];
  /** Gaps over 10 s in which nothing was recorded, sorted. */
  idle: TimeSpan[];
}

export interface PresenceEntry {
  client: number;
  participant: string | null;
  /** The connection that announced it (`conn:N`), when the server says: its `leave` removes it. */
  author: string | null;
  state: Record<string, unknown>;
}

/** The document as it stood at `atMs`: every update recorded at t <= atMs. */
export interface RoomState {
  atMs: number;
  seq: number;
  files: Record<string, string>;
  meta: Record<string, unknown>;
  /** The whole document as one Yjs v1 update (asked for with include=update). */
  update: Uint8Array | null;
  /** Who was there and their last awareness state (include=presence). */
  presence: PresenceEntry[];
}

export interface PresenceChange {
  client: number;
  /** null: that client's state was removed. */
  state: Record<string, unknown> | null;
}

interface EventBase {
  tMs: number;
  seq: number;
}

export type ReplayEvent =
  | (EventBase & { type: 'update'; author: string; update: Uint8Array })
  | (EventBase & { type: 'presence'; author: string; states: PresenceChange[] })
  | (EventBase & { type: 'join' | 'leave'; author: string })
  | (EventBase & { type: 'run_start'; id: string; startedBy: string })
  | (EventBase & { type: 'run_end'; id: string; verdict: string })
  | (EventBase & { type: 'paste'; author: string; chars: number })
  /** A kind this app does not know: kept, so stepping still stops there. */
  | (EventBase & { type: 'other'; kind: string });

/** The events with afterMs < t <= untilMs, in order. */
export interface EventWindow {
  afterMs: number;
  untilMs: number;
  /** Cut short: the next request starts after `nextAfter`. */
  more: boolean;
  nextAfter: number | null;
  events: ReplayEvent[];
}

export type ReplayErrorKind = 'not_found' | 'http' | 'network' | 'bad_response' | 'aborted';

export class ReplayError extends Error {
  constructor(
    readonly kind: ReplayErrorKind,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'ReplayError';
  }
}

export const isAbort = (e: unknown): boolean => e instanceof ReplayError && e.kind === 'aborted';

// ---- reading the server's JSON ----

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function bad(what: string): never {
  throw new ReplayError('bad_response', `The server's answer was not understood (${what}).`);
}

function num(o: Json, key: string, what: string): number {
  const v = o[key];
  if (!finite(v)) bad(`${what}: ${key} is not a number`);
  return v;
}

function optNum(o: Json, key: string, fallback: number): number {
  const v = o[key];
  return finite(v) ? v : fallback;
}

function optStr(o: Json, key: string, fallback = ''): string {
  const v = o[key];
  return typeof v === 'string' ? v : fallback;
}

function list(o: Json, key: string): unknown[] {
  const v = o[key];
  return Array.isArray(v) ? v : [];
}

function base64(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') bad(`${what} is not base64`);
  try {
    return fromBase64(v);
  } catch {
    bad(`${what} is not base64`);
  }
}

const byTime = <T extends { tMs: number }>(a: T, b: T) => a.tMs - b.tMs;

export function parseTimeline(json: unknown): Timeline {
  if (!isObj(json)) bad('timeline');
  const startMs = num(json, 'start_ms', 'timeline');
  const endMs = Math.max(startMs, num(json, 'end_ms', 'timeline'));
  const participants: ReplayParticipant[] = list(json, 'participants').filter(isObj).map((p, i) => ({
    key: optStr(p, 'key', `p${i}`),
    name: optStr(p, 'name').trim() || 'Anonymous',
    color: /^#[0-9a-fA-F]{6}$/.test(optStr(p, 'color')) ? optStr(p, 'color') : '#888888',
    clients: list(p, 'clients').filter(finite),
    firstMs: optNum(p, 'first_ms', startMs),
    lastMs: optNum(p, 'last_ms', endMs),
    updates: optNum(p, 'updates', 0),
  }));
  const markers: ReplayMarker[] = list(json, 'markers')
    .filter(isObj)
    .filter((m) => finite(m.t_ms))
    .map((m) => ({
      tMs: m.t_ms as number,
      kind: optStr(m, 'kind', 'marker'),
      label: optStr(m, 'label'),
      participant: typeof m.participant === 'string' ? m.participant : null,
    }))
    .sort(byTime);
  const activity: ActivitySpan[] = list(json, 'activity')
    .filter(isObj)
    .filter((a) => finite(a.from_ms) && finite(a.to_ms) && typeof a.participant === 'string')
    .map((a) => ({ participant: a.participant as string, fromMs: a.from_ms as number, toMs: Math.max(a.from_ms as number, a.to_ms as number) }));
  const idle: TimeSpan[] = list(json, 'idle')
    .filter(isObj)
    .filter((g) => finite(g.from_ms) && finite(g.to_ms) && (g.to_ms as number) > (g.from_ms as number))
    .map((g) => ({ fromMs: g.from_ms as number, toMs: g.to_ms as number }))
    .sort((a, b) => a.fromMs - b.fromMs);
  return {
    room: optStr(json, 'room'),
    startMs,
    endMs,
    durationMs: endMs - startMs,
    lastSeq: optNum(json, 'last_seq', 0),
    participants,
    markers,
    activity,
    idle,
  };
}

export function parseState(json: unknown): RoomState {
  if (!isObj(json)) bad('state');
  const files: Record<string, string> = {};
  const rawFiles = json.files;
  if (isObj(rawFiles)) for (const [k, v] of Object.entries(rawFiles)) if (typeof v === 'string') files[k] = v;
  const presence: PresenceEntry[] = list(json, 'presence')
    .filter(isObj)
    .filter((p) => finite(p.client) && isObj(p.state))
    .map((p) => ({
      client: p.client as number,
      participant: typeof p.participant === 'string' ? p.participant : null,
      author: typeof p.author === 'string' ? p.author : null,
      state: p.state as Json,
    }));
  return {
    atMs: num(json, 'at_ms', 'state'),
    seq: optNum(json, 'seq', 0),
    files,
    meta: isObj(json.meta) ? json.meta : {},
    update: json.update === undefined || json.update === null ? null : base64(json.update, 'the state update'),
    presence,
  };
}

function parseEvent(e: Json): ReplayEvent | null {
  if (!finite(e.t_ms)) return null;
  const base = { tMs: e.t_ms, seq: optNum(e, 'seq', 0) };
  const type = optStr(e, 'type');
  switch (type) {
    case 'update':
      return { ...base, type, author: optStr(e, 'author'), update: base64(e.update, `the update at ${base.tMs}`) };
    case 'presence':
      return {
        ...base,
        type,
        author: optStr(e, 'author'),
        states: list(e, 'states')
          .filter(isObj)
          .filter((s) => finite(s.client))
          .map((s) => ({ client: s.client as number, state: isObj(s.state) ? s.state : null })),
      };
    case 'join':
    case 'leave':
      return { ...base, type, author: optStr(e, 'author') };
    case 'run_start':
      return { ...base, type, id: optStr(e, 'id'), startedBy: optStr(e, 'started_by') };
    case 'run_end':
      return { ...base, type, id: optStr(e, 'id'), verdict: optStr(e, 'verdict') };
    case 'paste':
      return { ...base, type, author: optStr(e, 'author'), chars: optNum(e, 'chars', 0) };
    default:
      return { ...base, type: 'other', kind: type };
  }
}

export function parseEvents(json: unknown): EventWindow {
  if (!isObj(json)) bad('events');
  const afterMs = num(json, 'after_ms', 'events');
  const untilMs = num(json, 'until_ms', 'events');
  const events = list(json, 'events')
    .filter(isObj)
    .map(parseEvent)
    .filter((e): e is ReplayEvent => e !== null);
  // In order as the server promises; a stable sort costs nothing when it already is.
  events.sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
  const more = json.more === true;
  const nextAfter = finite(json.next_after) ? json.next_after : null;
  if (more && nextAfter === null) bad('events: more without next_after');
  if (more && nextAfter !== null && nextAfter <= afterMs) bad('events: next_after does not move forward');
  return { afterMs, untilMs, more, nextAfter, events };
}

// ---- HTTP ----

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ReplayApi {
  timeline(room: string, signal?: AbortSignal): Promise<Timeline>;
  state(room: string, atMs: number, signal?: AbortSignal): Promise<RoomState>;
  events(room: string, afterMs: number, untilMs: number, signal?: AbortSignal): Promise<EventWindow>;
  /** The new room's id. */
  fork(room: string, atMs: number): Promise<string>;
}

const base = (room: string) => `/api/rooms/${encodeURIComponent(room)}`;

async function request(fetchImpl: FetchLike, url: string, init: RequestInit, notFound: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchImpl(url, init);
  } catch (e) {
    if (init.signal?.aborted) throw new ReplayError('aborted', 'aborted');
    const why = e instanceof Error && e.message ? ` (${e.message})` : '';
    throw new ReplayError('network', `Could not reach the server${why}.`);
  }
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    if (init.signal?.aborted) throw new ReplayError('aborted', 'aborted');
    // not JSON (a proxy's page, or nothing): the status speaks
  }
  if (!res.ok) {
    const said = isObj(json) && typeof json.error === 'string' ? json.error : null;
    if (res.status === 404) throw new ReplayError('not_found', said ? `${notFound} (${said})` : notFound, 404);
    throw new ReplayError('http', `The server answered ${res.status}${said ? `: ${said}` : ''}.`, res.status);
  }
  return json;
}

export function replayApi(fetchImpl: FetchLike = (input, init) => fetch(input, init)): ReplayApi {
  return {
    async timeline(room, signal) {
      return parseTimeline(await request(fetchImpl, `${base(room)}/timeline`, { signal }, 'Nothing has been recorded in this room.'));
    },
    async state(room, atMs, signal) {
      const url = `${base(room)}/state?at=${Math.floor(atMs)}&include=update,presence`;
      return parseState(await request(fetchImpl, url, { signal }, 'Nothing has been recorded in this room.'));
    },
    async events(room, afterMs, untilMs, signal) {
      const url = `${base(room)}/events?after=${Math.floor(afterMs)}&until=${Math.floor(untilMs)}`;
      return parseEvents(await request(fetchImpl, url, { signal }, 'Nothing has been recorded in this room.'));
    },
    async fork(room, atMs) {
      const json = await request(
        fetchImpl,
        `${base(room)}/fork`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ at: Math.floor(atMs) }) },
        'Nothing has been recorded in this room.',
      );
      if (!isObj(json) || typeof json.room !== 'string' || json.room === '') bad('fork');
      return json.room;
    },
  };
}
