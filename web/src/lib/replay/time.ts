/**
 * Time in the player. Recording time is the server's Unix ms; play time is what the viewer
 * sits through at 1×, counted from the start. With idle skip on, every gap over
 * IDLE_GAP_MS in which nothing was recorded plays in IDLE_PLAY_MS, so the playhead sweeps
 * through it instead of showing a still picture for minutes. No React.
 */

/** Gaps longer than this are idle (the server reports them; shorter ones are ignored here). */
export const IDLE_GAP_MS = 10_000;
/** How long an idle gap takes to play through at 1× with idle skip on. */
export const IDLE_PLAY_MS = 1_000;

export const SPEEDS = [0.5, 1, 2, 4, 8, 16, 32] as const;
export type Speed = (typeof SPEEDS)[number];

/** `m:ss`, or `h:mm:ss` when `totalMs` (the length it is shown against) is an hour or more. */
export function formatTime(ms: number, totalMs: number = ms): string {
  const s = Math.floor(Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  if (h > 0 || totalMs >= 3_600_000) return `${h}:${String(m).padStart(2, '0')}:${sec}`;
  return `${m}:${sec}`;
}

/** "1 minute 5 seconds": for screen readers (aria-valuetext). */
export function spokenTime(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const part = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  const parts = [h > 0 ? part(h, 'hour') : null, m > 0 ? part(m, 'minute') : null, sec > 0 || s === 0 ? part(sec, 'second') : null];
  return parts.filter(Boolean).join(' ');
}

export function formatSpeed(speed: number): string {
  return `${speed}×`;
}

interface Point {
  r: number;
  p: number;
}

/**
 * The piecewise-linear map between recording time and play time. Without idle skip it is
 * the identity shifted by the start; with it, each idle gap [from, to] is squeezed into
 * IDLE_PLAY_MS of play time (linearly, so the playhead still moves across it).
 */
export class TimeMap {
  /** Breakpoints, increasing in both r and p. */
  private readonly points: Point[];
  readonly playDurationMs: number;

  constructor(
    readonly startMs: number,
    readonly endMs: number,
    idle: ReadonlyArray<{ fromMs: number; toMs: number }>,
    readonly skipIdle: boolean,
  ) {
    const points: Point[] = [{ r: startMs, p: 0 }];
    if (skipIdle) {
      let at = startMs;
      let p = 0;
      for (const gap of mergeGaps(idle, startMs, endMs)) {
        if (gap.toMs - gap.fromMs <= IDLE_GAP_MS || gap.fromMs < at) continue;
        p += gap.fromMs - at;
        points.push({ r: gap.fromMs, p });
        p += IDLE_PLAY_MS;
        points.push({ r: gap.toMs, p });
        at = gap.toMs;
      }
      points.push({ r: endMs, p: p + (endMs - at) });
    } else {
      points.push({ r: endMs, p: endMs - startMs });
    }
    this.points = points;
    this.playDurationMs = points[points.length - 1]!.p;
  }

  /** Play time (ms since the start, as watched at 1×) of a recording time. */
  toPlay(r: number): number {
    return this.interpolate(r, 'r', 'p');
  }

  /** Recording time of a play time. */
  toRecording(p: number): number {
    return this.interpolate(p, 'p', 'r');
  }

  /** Whether `r` lies inside a gap that is being skipped. */
  inSkippedGap(r: number): boolean {
    if (!this.skipIdle) return false;
    for (let i = 1; i < this.points.length - 1; i += 2) {
      const a = this.points[i]!;
      const b = this.points[i + 1]!;
      if (r > a.r && r < b.r) return true;
    }
    return false;
  }

  /** Where the playhead is after `wallMs` of watching at `speed` from `r`. */
  advance(r: number, wallMs: number, speed: number): number {
    return Math.min(this.endMs, this.toRecording(this.toPlay(r) + wallMs * speed));
  }

  private interpolate(x: number, from: 'r' | 'p', to: 'r' | 'p'): number {
    const pts = this.points;
    const first = pts[0]!;
    const last = pts[pts.length - 1]!;
    if (x <= first[from]) return first[to];
    if (x >= last[from]) return last[to];
    // The last breakpoint at or before x.
    let lo = 0;
    let hi = pts.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (pts[mid]![from] <= x) lo = mid;
      else hi = mid;
    }
    const a = pts[lo]!;
    const b = pts[hi]!;
    const span = b[from] - a[from];
    return span === 0 ? a[to] : a[to] + ((x - a[from]) / span) * (b[to] - a[to]);
  }
}

/** Gaps clipped to [start, end], sorted, overlapping ones merged. */
function mergeGaps(idle: ReadonlyArray<{ fromMs: number; toMs: number }>, startMs: number, endMs: number): Array<{ fromMs: number; toMs: number }> {
  const sorted = idle
    .map((g) => ({ fromMs: Math.max(startMs, g.fromMs), toMs: Math.min(endMs, g.toMs) }))
    .filter((g) => g.toMs > g.fromMs)
    .sort((a, b) => a.fromMs - b.fromMs);
  const out: Array<{ fromMs: number; toMs: number }> = [];
  for (const g of sorted) {
    const prev = out[out.length - 1];
    if (prev && g.fromMs <= prev.toMs) prev.toMs = Math.max(prev.toMs, g.toMs);
    else out.push({ ...g });
  }
  return out;
}
