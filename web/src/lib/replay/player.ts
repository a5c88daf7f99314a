/**
 * The replay player without React: the playhead, the document as it stood there, who was
 * present, and the traffic with the server that keeps them in step.
 *
 * - A seek that goes back (or far ahead) fetches the state at that moment and starts a
 *   fresh Y.Doc from it; while the scrubber is dragged, one state request is in flight at a
 *   time and the newest position waits for it (no pile-up on a slow server); a seek that is
 *   not a drag aborts what is in flight (its answer would be stale).
 * - Playing forward applies the recorded updates to the local Y.Doc (one merged update per
 *   animation frame) and the recorded presence to a local Awareness, from a buffer of
 *   events fetched ahead of the playhead (window.ts): no state is refetched while playing.
 * - A short seek forward into what is buffered is applied locally as well.
 */
import * as Y from 'yjs';
import { isAbort, ReplayError, replayApi, type PresenceChange, type ReplayApi, type RoomState, type Timeline } from './api';
import { ReplayPresence, REPLAY_ORIGIN } from './presence';
import { SPEEDS, TimeMap, type Speed } from './time';
import { digitTime, nextMarker, prevMarker } from './markers';
import { EventBuffer, planWindow, stepBackTarget, windowCoverage } from './window';

/** At most this many buffered events are applied for a seek forward; beyond, the state is fetched. */
export const LOCAL_SEEK_MAX_EVENTS = 4_000;
/** While dragging, state requests start at most this often. */
export const DRAG_INTERVAL_MS = 60;
/** `[` within this much watching after a marker goes to the one before it. */
export const PREV_MARKER_GRACE_WALL_MS = 800;
/** ← / → move this far in recording time. */
export const ARROW_STEP_MS = 5_000;
/** How far back `,` looks for an earlier event when none is buffered. */
const STEP_BACK_LOOK_MS = 60_000;

export interface Clock {
  now(): number;
  /** Calls `cb` on the next frame; returns a cancel function. */
  frame(cb: () => void): () => void;
  /** Calls `cb` after `ms`; returns a cancel function. */
  after(ms: number, cb: () => void): () => void;
}

export const browserClock: Clock = {
  now: () => performance.now(),
  frame: (cb) => {
    const id = requestAnimationFrame(() => cb());
    return () => cancelAnimationFrame(id);
  },
  after: (ms, cb) => {
    const id = setTimeout(cb, ms);
    return () => clearTimeout(id);
  },
};

export type PlayerPhase = 'loading' | 'ready' | 'empty' | 'error';

export interface PlayerView {
  phase: PlayerPhase;
  /** Why the recording cannot be shown (phase `empty` or `error`). */
  message: string | null;
  /** A moment or events that could not be fetched: playing stopped; `retry()` tries again. */
  problem: string | null;
  timeline: Timeline | null;
  /** The room's document as it stands at the playhead (a new one after each fetched state). */
  doc: Y.Doc | null;
  playing: boolean;
  speed: Speed;
  skipIdle: boolean;
  /** Waiting for the server: a state, or the next events while playing. */
  waiting: boolean;
}

interface StateRequest {
  target: number;
  controller: AbortController;
  dragging: boolean;
  startedAt: number;
}

export class Player {
  readonly presence = new ReplayPresence();
  private view: PlayerView = {
    phase: 'loading',
    message: null,
    problem: null,
    timeline: null,
    doc: null,
    playing: false,
    speed: 1,
    skipIdle: true,
    waiting: false,
  };
  private readonly listeners = new Set<() => void>();
  private readonly timeListeners = new Set<() => void>();
  private readonly api: ReplayApi;
  private readonly clock: Clock;

  /** The playhead, in recording time; it runs ahead of `shownAt` while a state is on its way. */
  private time = 0;
  /** The moment the document shows: every event at t <= shownAt is in it. */
  private shownAt = 0;
  private map: TimeMap | null = null;
  private buffer = new EventBuffer(0);
  private stateReq: StateRequest | null = null;
  /** While dragging: the newest position, waiting for the request in flight. */
  private pendingTarget: number | null = null;
  private cancelPending: (() => void) | null = null;
  private lastDragRequestAt = -Infinity;
  private eventsReq: { controller: AbortController } | null = null;
  private cancelFrame: (() => void) | null = null;
  private lastFrameAt = 0;
  private dragging = false;
  /**
   * Which presence clients each connection announced (`conn:N` → clients), learnt from
   * the presence events: the server records a connection's leave, not the removal of its
   * states, so a leave removes them here.
   */
  private connClients = new Map<string, Set<number>>();
  private destroyed = false;
  private loadController = new AbortController();

  constructor(
    readonly room: string,
    opts: { api?: ReplayApi; clock?: Clock } = {},
  ) {
    this.api = opts.api ?? replayApi();
    this.clock = opts.clock ?? browserClock;
  }

  // ---- what the UI reads ----

  getView = (): PlayerView => this.view;
  getTime = (): number => this.time;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The playhead moves up to once per frame: listen here, not to the whole view. */
  subscribeTime = (listener: () => void): (() => void) => {
    this.timeListeners.add(listener);
    return () => this.timeListeners.delete(listener);
  };

  get timeMap(): TimeMap | null {
    return this.map;
  }

  // ---- loading ----

  async load(): Promise<void> {
    let timeline: Timeline;
    try {
      timeline = await this.api.timeline(this.room, this.loadController.signal);
    } catch (e) {
      if (this.destroyed || isAbort(e)) return;
      if (e instanceof ReplayError && e.kind === 'not_found') {
        this.update({ phase: 'empty', message: 'Nothing has been recorded in this room yet.' });
      } else {
        this.update({ phase: 'error', message: messageOf(e, 'Could not open the recording') });
      }
      return;
    }
    if (this.destroyed) return;
    this.map = new TimeMap(timeline.startMs, timeline.endMs, timeline.idle, this.view.skipIdle);
    this.time = timeline.startMs;
    this.buffer = new EventBuffer(timeline.startMs);
    this.shownAt = timeline.startMs;
    this.update({ timeline });
    this.seek(timeline.startMs);
  }

  // ---- controls ----

  play(): void {
    const tl = this.view.timeline;
    if (!tl || this.view.playing || this.view.phase === 'error' || this.view.phase === 'empty') return;
    // At the end, play starts over.
    if (this.time >= tl.endMs) this.seek(tl.startMs);
    this.update({ playing: true, problem: null });
    this.lastFrameAt = this.clock.now();
    this.scheduleFrame();
    this.ensureEvents();
  }

  pause(): void {
    if (!this.view.playing) return;
    this.cancelFrame?.();
    this.cancelFrame = null;
    this.update({ playing: false, waiting: this.stateReq !== null });
  }

  toggle(): void {
    if (this.view.playing) this.pause();
    else this.play();
  }

  setSpeed(speed: number): void {
    const s = (SPEEDS as readonly number[]).includes(speed) ? (speed as Speed) : 1;
    this.update({ speed: s });
    this.ensureEvents();
  }

  setSkipIdle(skipIdle: boolean): void {
    const tl = this.view.timeline;
    if (tl) this.map = new TimeMap(tl.startMs, tl.endMs, tl.idle, skipIdle);
    this.update({ skipIdle });
    this.notifyTime();
  }

  /**
   * Moves the playhead to `t` (clamped to the recording). `dragging`: part of a drag of the
   * scrubber; the drag's last position must come without it.
   */
  seek(t: number, opts: { dragging?: boolean } = {}): void {
    const tl = this.view.timeline;
    if (!tl || this.destroyed) return;
    const target = Math.round(Math.min(tl.endMs, Math.max(tl.startMs, t)));
    this.dragging = opts.dragging === true;
    this.time = target;
    this.notifyTime();
    if (this.canApplyLocally(target)) {
      this.abortState();
      this.applyUpTo(target);
      if (this.view.waiting || this.view.problem !== null) this.update({ waiting: false, problem: null });
      this.ensureEvents();
      return;
    }
    if (this.dragging && this.stateReq !== null) {
      // One request at a time while dragging: the newest position waits for it.
      this.pendingTarget = target;
      return;
    }
    if (this.stateReq !== null && this.stateReq.target === target) {
      this.stateReq.dragging = this.dragging;
      return;
    }
    this.abortState();
    if (this.dragging) {
      const wait = this.lastDragRequestAt + DRAG_INTERVAL_MS - this.clock.now();
      if (wait > 0) {
        this.pendingTarget = target;
        this.cancelPending = this.clock.after(wait, () => this.startPending());
        return;
      }
    }
    this.fetchState(target);
  }

  seekBy(deltaMs: number): void {
    this.seek(this.time + deltaMs);
  }

  seekToDigit(digit: number): void {
    const tl = this.view.timeline;
    if (tl) this.seek(digitTime(tl.startMs, tl.durationMs, digit));
  }

  nextMarker(): void {
    const tl = this.view.timeline;
    const m = tl ? nextMarker(tl.markers, this.time) : null;
    if (m) this.seek(m.tMs);
  }

  prevMarker(): void {
    const tl = this.view.timeline;
    if (!tl) return;
    const grace = this.view.playing ? PREV_MARKER_GRACE_WALL_MS * this.view.speed : 0;
    const m = prevMarker(tl.markers, this.time, grace);
    if (m) this.seek(m.tMs);
    else this.seek(tl.startMs);
  }

  /** `.` / `,` while paused: to the next recorded event, or back to before the last one. */
  async step(direction: 1 | -1): Promise<void> {
    const tl = this.view.timeline;
    if (!tl || this.view.playing || this.stateReq !== null) return;
    if (direction === 1) {
      let t = this.buffer.nextTime();
      if (t === null && this.buffer.coveredUntil < tl.endMs) {
        await this.fetchEventsNow();
        t = this.buffer.nextTime();
      }
      if (t !== null) this.seek(t);
      return;
    }
    const at = this.shownAt;
    const t = stepBackTarget(this.buffer.appliedTimes(), at) ?? (await this.findStepBack(at));
    if (t !== null && !this.view.playing) this.seek(t);
  }

  /** After a problem: fetch the moment the playhead is at again. */
  retry(): void {
    this.update({ problem: null });
    this.abortState();
    this.fetchState(this.time);
  }

  /** Forks a new room from the moment the playhead is at; resolves to its id. */
  fork(): Promise<string> {
    return this.api.fork(this.room, Math.floor(this.time));
  }

  destroy(): void {
    this.destroyed = true;
    this.loadController.abort();
    this.cancelFrame?.();
    this.cancelPending?.();
    this.abortState();
    this.eventsReq?.controller.abort();
    this.eventsReq = null;
    this.presence.destroy();
    this.listeners.clear();
    this.timeListeners.clear();
  }

  // ---- states ----

  private canApplyLocally(target: number): boolean {
    const { doc } = this.view;
    if (doc === null || target < this.shownAt || !this.buffer.covers(target)) return false;
    return this.buffer.pendingUntil(target) <= LOCAL_SEEK_MAX_EVENTS;
  }

  private abortState(): void {
    this.cancelPending?.();
    this.cancelPending = null;
    this.pendingTarget = null;
    if (this.stateReq) {
      this.stateReq.controller.abort();
      this.stateReq = null;
    }
  }

  private startPending(): void {
    this.cancelPending = null;
    const t = this.pendingTarget;
    this.pendingTarget = null;
    if (t !== null && this.stateReq === null) this.fetchState(t, true);
  }

  private fetchState(target: number, dragging = this.dragging): void {
    const controller = new AbortController();
    const req: StateRequest = { target, controller, dragging, startedAt: this.clock.now() };
    if (dragging) this.lastDragRequestAt = req.startedAt;
    this.stateReq = req;
    // The events in flight belong to the document being replaced.
    this.eventsReq?.controller.abort();
    this.eventsReq = null;
    if (!this.view.waiting) this.update({ waiting: true });
    const asked = now();
    this.api.state(this.room, target, controller.signal).then(
      (state) => {
        if (this.stateReq !== req || this.destroyed) return; // superseded: drop it
        this.stateReq = null;
        const arrived = now();
        this.install(state);
        measure('peercode.replay.state-fetch', asked, arrived);
        measure('peercode.replay.state-apply', arrived, now());
        const next = this.pendingTarget;
        if (next !== null && next !== state.atMs) {
          this.pendingTarget = null;
          const wait = req.dragging ? this.lastDragRequestAt + DRAG_INTERVAL_MS - this.clock.now() : 0;
          if (wait > 0) {
            this.pendingTarget = next;
            this.cancelPending = this.clock.after(wait, () => this.startPending());
          } else {
            this.fetchState(next, true);
          }
          return;
        }
        this.pendingTarget = null;
        this.update({ waiting: false });
        this.ensureEvents();
      },
      (e: unknown) => {
        if (this.stateReq !== req || this.destroyed || isAbort(e)) return;
        this.stateReq = null;
        this.stopWithProblem(messageOf(e, 'Could not load that moment'));
      },
    );
  }

  private install(state: RoomState): void {
    if (state.update === null) {
      this.stopWithProblem("The server sent the moment without its document (include=update), so it cannot be shown.");
      return;
    }
    const doc = new Y.Doc();
    try {
      Y.applyUpdate(doc, state.update, REPLAY_ORIGIN);
    } catch (e) {
      this.stopWithProblem(messageOf(e, 'The document of that moment could not be read'));
      return;
    }
    this.presence.reset(state.presence);
    this.connClients.clear();
    for (const p of state.presence) if (p.author !== null) this.learnConn(p.author, p.client);
    this.buffer.reset(state.atMs);
    this.shownAt = state.atMs;
    // The old document is simply dropped: nothing of it outlives the views bound to it.
    this.update({ doc, problem: null });
  }

  private stopWithProblem(problem: string): void {
    this.cancelFrame?.();
    this.cancelFrame = null;
    this.update({ problem, playing: false, waiting: false });
  }

  // ---- playing ----

  private scheduleFrame(): void {
    this.cancelFrame = this.clock.frame(() => this.tick());
  }

  private tick(): void {
    this.cancelFrame = null;
    if (!this.view.playing || this.destroyed) return;
    const now = this.clock.now();
    const wallMs = Math.max(0, Math.min(now - this.lastFrameAt, 250)); // a background tab does not jump
    this.lastFrameAt = now;
    const tl = this.view.timeline;
    const map = this.map;
    if (!tl || !map) return;
    // While the scrubber is held, or a state is on its way, the clock waits.
    if (!this.dragging && this.stateReq === null && this.view.doc !== null) {
      let target = map.advance(this.time, wallMs, this.view.speed);
      const starved = target > this.buffer.coveredUntil;
      if (starved) target = Math.max(this.time, this.buffer.coveredUntil);
      if (target !== this.time || this.shownAt !== target) {
        this.time = target;
        this.applyUpTo(target);
        this.notifyTime();
      }
      if (this.time >= tl.endMs) {
        this.update({ playing: false, waiting: false });
        return;
      }
      if (starved !== this.view.waiting) this.update({ waiting: starved });
      this.ensureEvents();
    }
    this.scheduleFrame();
  }

  /** Applies the buffered events up to `t` to the document and presence. */
  private applyUpTo(t: number): void {
    const doc = this.view.doc;
    const events = this.buffer.take(t);
    this.shownAt = Math.max(this.shownAt, t);
    if (doc === null || events.length === 0) return;
    const updates: Uint8Array[] = [];
    const presence: PresenceChange[] = [];
    for (const e of events) {
      if (e.type === 'update') updates.push(e.update);
      else if (e.type === 'presence') {
        presence.push(...e.states);
        for (const s of e.states) this.learnConn(e.author, s.client);
      } else if (e.type === 'leave') {
        const gone = this.connClients.get(e.author);
        this.connClients.delete(e.author);
        for (const client of gone ?? []) presence.push({ client, state: null });
      }
    }
    if (updates.length > 0) applyUpdates(doc, updates);
    if (presence.length > 0) this.presence.apply(presence);
  }

  private learnConn(author: string, client: number): void {
    if (!author) return;
    let clients = this.connClients.get(author);
    if (!clients) this.connClients.set(author, (clients = new Set()));
    clients.add(client);
  }

  private ensureEvents(): void {
    const tl = this.view.timeline;
    const map = this.map;
    if (!tl || !map || this.dragging || this.stateReq !== null || this.eventsReq !== null || this.view.doc === null) return;
    const plan = planWindow({ time: this.time, coveredUntil: this.buffer.coveredUntil, endMs: tl.endMs, speed: this.view.speed, map });
    if (plan === null) return;
    const controller = new AbortController();
    const req = { controller };
    this.eventsReq = req;
    const buffer = this.buffer;
    this.api.events(this.room, plan.afterMs, plan.untilMs, controller.signal).then(
      (w) => {
        if (this.eventsReq !== req || this.destroyed) return;
        this.eventsReq = null;
        // A window for another start (the buffer was reset meanwhile) is stale.
        if (buffer === this.buffer && w.afterMs === plan.afterMs && windowCoverage(w) >= plan.afterMs) buffer.append(w);
        this.ensureEvents();
      },
      (e: unknown) => {
        if (this.eventsReq !== req || this.destroyed || isAbort(e)) return;
        this.eventsReq = null;
        this.stopWithProblem(messageOf(e, 'Could not load what happened next'));
      },
    );
  }

  /** For a step forward with nothing buffered: one window, now. */
  private async fetchEventsNow(): Promise<void> {
    const tl = this.view.timeline;
    if (!tl || this.eventsReq !== null) return;
    const after = this.buffer.coveredUntil;
    try {
      const w = await this.api.events(this.room, after, Math.min(tl.endMs, after + STEP_BACK_LOOK_MS));
      if (this.buffer.coveredUntil === after) this.buffer.append(w);
    } catch (e) {
      if (!isAbort(e)) this.update({ problem: messageOf(e, 'Could not load what happened next') });
    }
  }

  /** For a step back with nothing kept: the recorded event times just before `at`. */
  private async findStepBack(at: number): Promise<number | null> {
    const tl = this.view.timeline;
    if (!tl || at <= tl.startMs) return null;
    const times: number[] = [];
    let after = Math.max(tl.startMs - 1, at - STEP_BACK_LOOK_MS);
    try {
      for (let page = 0; page < 20; page++) {
        const w = await this.api.events(this.room, after, at);
        for (const e of w.events) times.push(e.tMs);
        if (!w.more || w.nextAfter === null) break;
        after = w.nextAfter;
      }
    } catch (e) {
      if (!isAbort(e)) this.update({ problem: messageOf(e, 'Could not load what happened before') });
      return null;
    }
    return stepBackTarget(times, at) ?? (at - STEP_BACK_LOOK_MS > tl.startMs ? at - STEP_BACK_LOOK_MS : tl.startMs);
  }

  // ---- notifying ----

  private update(patch: Partial<PlayerView>): void {
    this.view = { ...this.view, ...patch };
    for (const l of [...this.listeners]) l();
  }

  private notifyTime(): void {
    for (const l of [...this.timeListeners]) l();
  }
}

/** Several recorded updates in one transaction; one that cannot be merged is applied alone. */
function applyUpdates(doc: Y.Doc, updates: Uint8Array[]): void {
  if (updates.length === 1) {
    Y.applyUpdate(doc, updates[0]!, REPLAY_ORIGIN);
    return;
  }
  let merged: Uint8Array | null = null;
  try {
    merged = Y.mergeUpdates(updates);
  } catch {
    merged = null;
  }
  if (merged) {
    Y.applyUpdate(doc, merged, REPLAY_ORIGIN);
    return;
  }
  doc.transact(() => {
    for (const u of updates) {
      try {
        Y.applyUpdate(doc, u, REPLAY_ORIGIN);
      } catch {
        // a recorded update yrs accepted but Yjs cannot read: skip it rather than stop
      }
    }
  }, REPLAY_ORIGIN);
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** The last fetch and apply of a moment, in the browser's performance timeline (for the tests' timings). */
function measure(name: string, start: number, end: number): void {
  if (typeof performance === 'undefined' || typeof performance.measure !== 'function') return;
  try {
    performance.clearMeasures(name);
    performance.measure(name, { start, end });
  } catch {
    // an old browser without the options form: no timings, nothing else lost
  }
}

function messageOf(e: unknown, what: string): string {
  if (e instanceof ReplayError) return `${what}: ${e.message}`;
  return `${what}: ${e instanceof Error ? e.message : String(e)}`;
}
