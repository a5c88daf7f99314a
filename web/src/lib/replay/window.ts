/**
 * The recorded events the player holds ahead of the playhead, and when to ask for more.
 * After a seek the buffer starts empty at the moment of the fetched state; while playing,
 * the next window is fetched once less than LOW_WATER_WALL_MS of watching is left in it, so
 * playing forward applies events locally and never waits on the network. No React.
 */
import type { EventWindow, ReplayEvent } from './api';
import type { TimeMap } from './time';

/** Ask for the next window when less than this much watching (wall time) is buffered. */
export const LOW_WATER_WALL_MS = 6_000;
/** Each window reaches this far ahead in wall time at the current speed. */
export const WINDOW_WALL_MS = 20_000;
/** ...and at least this far in recording time. */
export const MIN_WINDOW_MS = 5_000;
/** Applied events kept behind the playhead, for stepping back with `,`. */
export const KEEP_BEHIND = 500;

export interface WindowRequest {
  afterMs: number;
  untilMs: number;
}

/**
 * The next window to fetch, or null when the buffer reaches far enough ahead (or to the end).
 * `coveredUntil`: every event at t <= coveredUntil is in the buffer.
 */
export function planWindow(p: { time: number; coveredUntil: number; endMs: number; speed: number; map: TimeMap }): WindowRequest | null {
  const { time, coveredUntil, endMs, speed, map } = p;
  if (coveredUntil >= endMs) return null;
  const speedy = Math.max(speed, 0.5);
  const aheadWallMs = (map.toPlay(coveredUntil) - map.toPlay(Math.min(time, coveredUntil))) / speedy;
  if (aheadWallMs > LOW_WATER_WALL_MS && coveredUntil > time) return null;
  const from = Math.max(coveredUntil, time);
  const reach = map.toRecording(map.toPlay(from) + WINDOW_WALL_MS * speedy);
  const untilMs = Math.min(endMs, Math.max(reach, from + MIN_WINDOW_MS));
  return { afterMs: coveredUntil, untilMs: Math.ceil(untilMs) };
}

/** How far a received window covers: to `untilMs`, or to `nextAfter` when it was cut short. */
export function windowCoverage(w: EventWindow): number {
  return w.more && w.nextAfter !== null ? w.nextAfter : w.untilMs;
}

/** The events between a state and the furthest window received, in order. */
export class EventBuffer {
  private events: ReplayEvent[] = [];
  /** Index of the first event not applied yet. */
  private next = 0;
  /** Every event at t <= coveredUntil is here (or was applied and dropped). */
  coveredUntil: number;

  constructor(atMs: number) {
    this.coveredUntil = atMs;
  }

  /** Starts over at a fetched state: nothing buffered, everything up to `atMs` applied. */
  reset(atMs: number): void {
    this.events = [];
    this.next = 0;
    this.coveredUntil = atMs;
  }

  /**
   * Adds a window that starts where the buffer ends; returns false (and adds nothing) for a
   * window that does not (a stale answer, after a seek).
   */
  append(w: EventWindow): boolean {
    if (w.afterMs !== this.coveredUntil) return false;
    for (const e of w.events) if (e.tMs > w.afterMs) this.events.push(e);
    this.coveredUntil = Math.max(this.coveredUntil, windowCoverage(w));
    return true;
  }

  /** Whether every event up to `t` is here. */
  covers(t: number): boolean {
    return t <= this.coveredUntil;
  }

  /** How many events not applied yet lie at or before `t`. */
  pendingUntil(t: number): number {
    return this.indexAfter(t) - this.next;
  }

  /** Takes the events not applied yet with t <= `t`, and marks them applied. */
  take(t: number): ReplayEvent[] {
    const end = this.indexAfter(t);
    const taken = this.events.slice(this.next, end);
    this.next = end;
    if (this.next > KEEP_BEHIND * 2) {
      const drop = this.next - KEEP_BEHIND;
      this.events.splice(0, drop);
      this.next -= drop;
    }
    return taken;
  }

  /** Time of the first event not applied yet (a step forward), or null when none is buffered. */
  nextTime(): number | null {
    return this.events[this.next]?.tMs ?? null;
  }

  /** Times of the applied events still kept (the last KEEP_BEHIND or more), ascending. */
  appliedTimes(): number[] {
    return this.events.slice(0, this.next).map((e) => e.tMs);
  }

  get size(): number {
    return this.events.length - this.next;
  }

  /** First index with tMs > t. */
  private indexAfter(t: number): number {
    let lo = this.next;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.tMs <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Where a step back from a document at `at` goes: to the moment before the last event it
 * includes (the previous distinct event time), or null when `times` does not reach back
 * that far. `times` sorted ascending.
 */
export function stepBackTarget(times: readonly number[], at: number): number | null {
  let i = times.length - 1;
  while (i >= 0 && times[i]! > at) i--;
  if (i < 0) return null;
  const last = times[i]!;
  while (i >= 0 && times[i]! >= last) i--;
  return i >= 0 ? times[i]! : null;
}
