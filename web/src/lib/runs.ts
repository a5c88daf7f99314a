/**
 * Runs in a room (SPEC §2): reading the server-owned `runs` map of the document, the HTTP
 * calls that start and stop a run, and the words and numbers the Run panel shows. No React.
 *
 * The client never writes into `runs` (the server refuses such updates); it only reads.
 */
import * as Y from 'yjs';

export const RUNS = 'runs';

export type RunStatus = 'queued' | 'running' | 'done';
export type Verdict =
  | 'ok'
  | 'compile_error'
  | 'runtime_error'
  | 'time_limit'
  | 'memory_limit'
  | 'output_limit'
  | 'cancelled'
  | 'internal_error';

/** One run's scalar fields, read defensively from its `Y.Map` (anything odd reads as null). */
export interface RunInfo {
  id: string;
  status: RunStatus;
  verdict: Verdict | null;
  exitCode: number | null;
  signal: number | null;
  cpuMs: number | null;
  wallMs: number | null;
  memoryKb: number | null;
  startedBy: string;
  startedAt: number | null;
  finishedAt: number | null;
  truncated: boolean;
  message: string | null;
}

export type RunStream = 'stdout' | 'stderr';

const VERDICTS: readonly Verdict[] = [
  'ok',
  'compile_error',
  'runtime_error',
  'time_limit',
  'memory_limit',
  'output_limit',
  'cancelled',
  'internal_error',
];

/** The room's runs map. Reading only: see the module comment. */
export function runsOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>(RUNS);
}

/** What a `Y.Map` entry's `get` may return, or a plain object (for tests). */
type Fields = { get(key: string): unknown };

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function readRun(id: string, fields: Fields): RunInfo {
  const status = str(fields.get('status'));
  const verdict = str(fields.get('verdict'));
  return {
    id,
    // An unknown status is treated as going: the server says when it is done.
    status: status === 'done' || status === 'queued' ? status : 'running',
    verdict: verdict !== null && (VERDICTS as readonly string[]).includes(verdict) ? (verdict as Verdict) : null,
    exitCode: num(fields.get('exit_code')),
    signal: num(fields.get('signal')),
    cpuMs: num(fields.get('cpu_ms')),
    wallMs: num(fields.get('wall_ms')),
    memoryKb: num(fields.get('memory_kb')),
    startedBy: str(fields.get('started_by'))?.trim() || 'someone',
    startedAt: num(fields.get('started_at')),
    finishedAt: num(fields.get('finished_at')),
    truncated: fields.get('truncated') === true,
    message: str(fields.get('message')),
  };
}

/** Newest first: by `started_at`, then by id (ids start with the time in hex). */
export function compareNewestFirst(a: RunInfo, b: RunInfo): number {
  const ta = a.startedAt ?? -1;
  const tb = b.startedAt ?? -1;
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Every run in the map, newest first (entries that are not maps are skipped). */
export function listRuns(runs: Y.Map<unknown>): RunInfo[] {
  const list: RunInfo[] = [];
  runs.forEach((value, id) => {
    if (value instanceof Y.Map) list.push(readRun(id, value));
  });
  return list.sort(compareNewestFirst);
}

/** The run going now: the newest one that is not done (the server allows one per room). */
export function currentRun(newestFirst: readonly RunInfo[]): RunInfo | undefined {
  return newestFirst.find((r) => r.status !== 'done');
}

/** A run's output stream, when the server has created it. */
export function outputOf(runs: Y.Map<unknown>, id: string, stream: RunStream): Y.Text | undefined {
  const entry = runs.get(id);
  if (!(entry instanceof Y.Map)) return undefined;
  const text: unknown = entry.get(stream);
  return text instanceof Y.Text ? text : undefined;
}

/**
 * Whether a Y.Text change only added text at the end (what the server does while a run
 * prints), so the view can append instead of redrawing everything. `lengthAfter` is the
 * text's length once the change is applied.
 */
export function isAppendOnly(delta: ReadonlyArray<{ insert?: unknown; retain?: number; delete?: number }>, lengthAfter: number): boolean {
  let inserted = 0;
  for (const op of delta) {
    if (op.delete !== undefined) return false;
    if (op.insert !== undefined) inserted += typeof op.insert === 'string' ? op.insert.length : 1;
  }
  const lengthBefore = lengthAfter - inserted;
  let at = 0;
  let inserting = false;
  for (const op of delta) {
    if (op.retain !== undefined) {
      if (inserting) return false;
      at += op.retain;
    } else if (op.insert !== undefined) {
      if (at !== lengthBefore) return false;
      inserting = true;
    }
  }
  return true;
}

// ---- words and numbers ----

export const VERDICT_LABELS: Record<Verdict, string> = {
  ok: 'OK',
  compile_error: 'Compile error',
  runtime_error: 'Runtime error',
  time_limit: 'Time limit',
  memory_limit: 'Memory limit',
  output_limit: 'Output limit',
  cancelled: 'Cancelled',
  internal_error: 'Internal error',
};

/** The badge's colour family. */
export function verdictTone(v: Verdict | null): 'ok' | 'error' | 'limit' | 'neutral' {
  if (v === 'ok') return 'ok';
  if (v === 'compile_error' || v === 'runtime_error' || v === 'internal_error') return 'error';
  if (v === 'time_limit' || v === 'memory_limit' || v === 'output_limit') return 'limit';
  return 'neutral';
}

/** What the badge says: the verdict, or the state of a run that has none yet. */
export function runLabel(run: Pick<RunInfo, 'status' | 'verdict'>): string {
  if (run.status === 'queued') return 'Queued…';
  if (run.status !== 'done') return 'Running…';
  return run.verdict ? VERDICT_LABELS[run.verdict] : 'Finished';
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Kibibytes as the panel shows them (binary units, like the sandbox's limits). */
export function formatMemory(kb: number | null): string {
  if (kb === null) return '–';
  if (kb < 1024) return `${Math.round(kb)} KiB`;
  const mb = kb / 1024;
  if (mb < 1024) return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MiB`;
  return `${(mb / 1024).toFixed(2)} GiB`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Common signals by number (Linux), for "killed by signal 9 (SIGKILL)". */
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  31: 'SIGSYS',
};

/** How the program ended, when that says more than the verdict: "exit 3", "signal 11 (SIGSEGV)". */
export function exitSummary(run: Pick<RunInfo, 'status' | 'exitCode' | 'signal'>): string | null {
  if (run.status !== 'done') return null;
  if (run.signal !== null) return `signal ${run.signal}${SIGNALS[run.signal] ? ` (${SIGNALS[run.signal]})` : ''}`;
  if (run.exitCode !== null && run.exitCode !== 0) return `exit ${run.exitCode}`;
  return null;
}

/** "CPU 20 ms · wall 32 ms · 3.0 MiB", or null while there are no figures yet. */
export function usageSummary(run: Pick<RunInfo, 'cpuMs' | 'wallMs' | 'memoryKb'>): string | null {
  if (run.cpuMs === null && run.wallMs === null && run.memoryKb === null) return null;
  return `CPU ${formatMs(run.cpuMs)} · wall ${formatMs(run.wallMs)} · ${formatMemory(run.memoryKb)}`;
}

/** The clock time of a run for the history list: "14:03:27", with the date when not today. */
export function formatClock(ms: number | null, now: number): string {
  if (ms === null) return '';
  const d = new Date(ms);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return new Date(now).toDateString() === d.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

// ---- the HTTP side ----

export type RunResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** The sentence the panel shows for a refused request. */
export function refusalMessage(action: 'start' | 'stop', status: number, serverMessage: string | null): string {
  const detail = serverMessage ? capitalise(serverMessage.replace(/\.?$/, '.')) : '';
  switch (status) {
    case 409:
      return action === 'start'
        ? 'A run is already going in this room: stop it or wait for it to finish.'
        : 'That run has already finished.';
    case 503:
      return detail || 'The server cannot run code right now. Try again in a moment.';
    case 413:
      return 'The input is too large: a run takes at most 1 MiB of stdin.';
    case 404:
      return action === 'stop' ? 'That run is no longer in this room.' : 'The server does not know this room.';
    case 400:
      return detail || 'The server refused the request.';
    default:
      return `The server answered ${status}${detail ? `: ${detail}` : '.'}`;
  }
}

export function networkMessage(error: unknown): string {
  const why = error instanceof Error && error.message ? ` (${error.message})` : '';
  return `Could not reach the server${why}. Check the connection and try again.`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

async function post<T>(url: string, body: unknown, action: 'start' | 'stop', read: (json: unknown) => T | null, fetchImpl: FetchLike): Promise<RunResult<T>> {
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, message: networkMessage(e) };
  }
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    // a proxy's HTML error page, or nothing: the status alone speaks
  }
  if (!res.ok) {
    const error = json && typeof json === 'object' && 'error' in json && typeof json.error === 'string' ? json.error : null;
    return { ok: false, message: refusalMessage(action, res.status, error) };
  }
  const value = read(json);
  return value === null ? { ok: false, message: `The server's answer was not understood (status ${res.status}).` } : { ok: true, value };
}

const roomPath = (room: string) => `/api/rooms/${encodeURIComponent(room)}/runs`;

/** `POST /api/rooms/{room}/runs`: the new run's id. */
export function startRun(room: string, opts: { stdin?: string; name?: string }, fetchImpl: FetchLike = fetch, query = ''): Promise<RunResult<string>> {
  const body: { stdin?: string; name?: string } = {};
  if (opts.stdin) body.stdin = opts.stdin;
  if (opts.name) body.name = opts.name;
  return post(roomPath(room) + query, body, 'start', (json) => (json && typeof json === 'object' && 'id' in json && typeof json.id === 'string' ? json.id : null), fetchImpl);
}

/** `POST /api/rooms/{room}/runs/{id}/stop`. */
export function stopRun(room: string, id: string, fetchImpl: FetchLike = fetch, query = ''): Promise<RunResult<true>> {
  return post(`${roomPath(room)}/${encodeURIComponent(id)}/stop${query}`, undefined, 'stop', () => true, fetchImpl);
}
