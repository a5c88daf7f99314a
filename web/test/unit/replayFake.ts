/**
 * A recorded session and a fake of the server's replay routes over it, for the player's unit
 * tests (the browser tests use the real server). Updates are real Yjs updates made by two
 * clients typing; the fake answers exactly as the routes are specified: state at t = every
 * update at t' <= t, events with after < t <= until, cut into windows of `maxEvents`.
 */
import * as Y from 'yjs';
import { toBase64 } from 'lib0/buffer';
import { parseEvents, parseState, parseTimeline, ReplayError, type ReplayApi } from '../../src/lib/replay/api';

export interface Recorded {
  tMs: number;
  seq: number;
  type: 'update' | 'presence' | 'leave';
  author: string;
  update?: Uint8Array;
  states?: Array<{ client: number; clock: number; state: Record<string, unknown> | null }>;
}

export class Recording {
  events: Recorded[] = [];
  private seq = 0;
  readonly start: number;
  readonly docs = new Map<string, Y.Doc>();

  constructor(start = 1_000_000) {
    this.start = start;
  }

  /** A client with its own doc; its updates are recorded at the time given to `at`. */
  client(name: string, clientID: number): { doc: Y.Doc; text: () => Y.Text; at: (tMs: number, f: (doc: Y.Doc) => void) => void; cursor: (tMs: number, index: number) => void } {
    const doc = new Y.Doc();
    doc.clientID = clientID;
    this.docs.set(name, doc);
    let now = this.start;
    let clock = 0;
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === 'sync') return;
      this.events.push({ tMs: now, seq: ++this.seq, type: 'update', author: `yjs:${clientID}`, update });
      // Every other client gets it too, as the server would broadcast it.
      for (const [n, other] of this.docs) if (n !== name) Y.applyUpdate(other, update, 'sync');
    });
    return {
      doc,
      text: () => doc.getMap<Y.Text>('files').get('main.py')!,
      at: (tMs, f) => {
        now = tMs;
        doc.transact(() => f(doc));
      },
      cursor: (tMs, index) => {
        const text = doc.getMap<Y.Text>('files').get('main.py')!;
        const pos = Y.createRelativePositionFromTypeIndex(text, index);
        const json = JSON.parse(JSON.stringify(pos)) as Record<string, unknown>;
        this.events.push({
          tMs,
          seq: this.seq,
          type: 'presence',
          author: `conn:${clientID}`,
          states: [{ client: clientID, clock: ++clock, state: { user: { name, color: '#30bced' }, selection: { anchor: json, head: json } } }],
        });
      },
    };
  }

  /** The connection of `clientID` closes (the server records a leave, not a removal). */
  leave(tMs: number, clientID: number): void {
    this.events.push({ tMs, seq: this.seq, type: 'leave', author: `conn:${clientID}` });
  }

  sorted(): Recorded[] {
    return [...this.events].sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
  }

  get end(): number {
    return this.events.reduce((m, e) => Math.max(m, e.tMs), this.start);
  }

  /** The text of main.py as it stood at `t`, computed independently of the player. */
  textAt(t: number): string {
    const doc = new Y.Doc();
    for (const e of this.sorted()) if (e.tMs <= t && e.update) Y.applyUpdate(doc, e.update);
    return doc.getMap<Y.Text>('files').get('main.py')?.toString() ?? '';
  }
}

export interface FakeCall {
  route: 'timeline' | 'state' | 'events' | 'fork';
  args: number[];
  signal?: AbortSignal;
}

export interface Pending {
  call: FakeCall;
  resolve: () => void;
}

/**
 * The routes over a recording. With `manual`, answers wait until the test releases them
 * (`release()`), so tests decide the order in which responses arrive.
 */
export class FakeServer implements ReplayApi {
  calls: FakeCall[] = [];
  pending: Pending[] = [];
  manual = false;
  maxEvents = 1000;
  idle: Array<{ from_ms: number; to_ms: number }> = [];
  forks: number[] = [];
  /** Answer aborted requests anyway, as a response already on its way does. */
  ignoreAbort = false;
  /** Name the connection of each present client in the state (the real server does not, yet). */
  presenceAuthors = false;

  constructor(readonly rec: Recording) {}

  private answer<T>(call: FakeCall, make: () => T): Promise<T> {
    this.calls.push(call);
    return new Promise<T>((resolve, reject) => {
      const go = () => {
        if (call.signal?.aborted && !this.ignoreAbort) reject(new ReplayError('aborted', 'aborted'));
        else {
          try {
            resolve(make());
          } catch (e) {
            reject(e);
          }
        }
      };
      if (!this.ignoreAbort) call.signal?.addEventListener('abort', () => reject(new ReplayError('aborted', 'aborted')));
      if (this.manual) this.pending.push({ call, resolve: go });
      else queueMicrotask(go);
    });
  }

  /** Lets the oldest waiting answer (or the one matching `pick`) through. */
  release(pick?: (c: FakeCall) => boolean): FakeCall {
    const i = pick ? this.pending.findIndex((p) => pick(p.call)) : 0;
    if (i < 0) throw new Error('no such pending call');
    const [p] = this.pending.splice(i, 1);
    p!.resolve();
    return p!.call;
  }

  timeline(room: string, signal?: AbortSignal) {
    void room;
    return this.answer({ route: 'timeline', args: [], signal }, () =>
      parseTimeline({
        room: 'r',
        start_ms: this.rec.start,
        end_ms: this.rec.end,
        duration_ms: this.rec.end - this.rec.start,
        last_seq: this.rec.events.length,
        participants: [],
        markers: [],
        activity: [],
        idle: this.idle,
      }),
    );
  }

  state(room: string, atMs: number, signal?: AbortSignal) {
    void room;
    return this.answer({ route: 'state', args: [atMs], signal }, () => {
      const doc = new Y.Doc();
      const present = new Map<number, Record<string, unknown>>();
      const authors = new Map<number, string>();
      let seq = 0;
      for (const e of this.rec.sorted()) {
        if (e.tMs > atMs) break;
        if (e.update) Y.applyUpdate(doc, e.update);
        for (const s of e.states ?? []) {
          if (s.state === null) present.delete(s.client);
          else present.set(s.client, s.state);
          authors.set(s.client, e.author);
        }
        if (e.type === 'leave') present.delete(Number(e.author.slice('conn:'.length)));
        seq = Math.max(seq, e.seq);
      }
      return parseState({
        at_ms: atMs,
        seq,
        files: {},
        meta: {},
        update: toBase64(Y.encodeStateAsUpdate(doc)),
        presence: [...present].map(([client, state]) => ({ client, participant: null, state, ...(this.presenceAuthors ? { author: authors.get(client) } : {}) })),
      });
    });
  }

  events(room: string, afterMs: number, untilMs: number, signal?: AbortSignal) {
    void room;
    return this.answer({ route: 'events', args: [afterMs, untilMs], signal }, () => {
      const inRange = this.rec.sorted().filter((e) => e.tMs > afterMs && e.tMs <= untilMs);
      let cut = inRange;
      let more = false;
      if (inRange.length > this.maxEvents) {
        // Cut at a time boundary, so next_after loses nothing.
        let n = this.maxEvents;
        while (n > 0 && inRange[n]!.tMs === inRange[n - 1]!.tMs) n--;
        cut = inRange.slice(0, n);
        more = true;
      }
      return parseEvents({
        after_ms: afterMs,
        until_ms: untilMs,
        more,
        next_after: more ? cut[cut.length - 1]!.tMs : null,
        events: cut.map((e) =>
          e.type === 'update'
            ? { t_ms: e.tMs, seq: e.seq, type: 'update', author: e.author, update: toBase64(e.update!) }
            : e.type === 'leave'
              ? { t_ms: e.tMs, seq: e.seq, type: 'leave', author: e.author }
              : { t_ms: e.tMs, seq: e.seq, type: 'presence', author: e.author, states: e.states },
        ),
      });
    });
  }

  fork(room: string, atMs: number) {
    void room;
    this.forks.push(atMs);
    return this.answer({ route: 'fork', args: [atMs] }, () => 'forked-room');
  }
}

/** A clock the test drives: frames run when `frame()` is called, timers on `advance()`. */
export class TestClock {
  t = 0;
  private frames: Array<() => void> = [];
  private timers: Array<{ at: number; cb: () => void }> = [];

  now = () => this.t;
  frame = (cb: () => void) => {
    this.frames.push(cb);
    return () => {
      this.frames = this.frames.filter((f) => f !== cb);
    };
  };
  after = (ms: number, cb: () => void) => {
    const timer = { at: this.t + ms, cb };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  };

  /** Moves the clock by `ms` and runs one animation frame, then due timers. */
  tick(ms: number): void {
    this.t += ms;
    const frames = this.frames;
    this.frames = [];
    for (const f of frames) f();
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.cb();
  }
}

export const flush = () => new Promise<void>((r) => setTimeout(r, 0));
