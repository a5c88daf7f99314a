/**
 * Moving between markers (`[` / `]`), jumping to a tenth of the recording (0–9), and the
 * words a marker is shown with. No React.
 */
import type { MarkerKind, ReplayMarker, ReplayParticipant } from './api';

/** The first marker strictly after `t`, or null after the last one. */
export function nextMarker(markers: readonly ReplayMarker[], t: number): ReplayMarker | null {
  // Markers are sorted by time; the first one past t.
  let lo = 0;
  let hi = markers.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (markers[mid]!.tMs <= t) lo = mid + 1;
    else hi = mid;
  }
  return markers[lo] ?? null;
}

/**
 * The last marker before `t - graceMs`, or null. With a grace (while playing), pressing `[`
 * just after a marker went by goes to the one before it rather than back to the same one.
 */
export function prevMarker(markers: readonly ReplayMarker[], t: number, graceMs = 0): ReplayMarker | null {
  const limit = t - Math.max(0, graceMs);
  let lo = 0;
  let hi = markers.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (markers[mid]!.tMs < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? markers[lo - 1]! : null;
}

/** Where a digit key jumps: 0 → the start, 9 → 90 % of the way. */
export function digitTime(startMs: number, durationMs: number, digit: number): number {
  const d = Math.min(9, Math.max(0, Math.floor(digit)));
  return startMs + (durationMs * d) / 10;
}

const KIND_WORDS: Record<MarkerKind, string> = {
  run: 'Run',
  join: 'Joined',
  leave: 'Left',
  paste: 'Paste',
};

export function isKnownKind(kind: string): kind is MarkerKind {
  return kind in KIND_WORDS;
}

/**
 * What a marker says: the server's label ("Ada joined", "Run by Ada: ok") when it has one,
 * else the kind and who ("Paste · Ada").
 */
export function markerText(m: ReplayMarker, participants: readonly ReplayParticipant[]): string {
  const label = m.label.trim();
  if (label) return label;
  const kind = isKnownKind(m.kind) ? KIND_WORDS[m.kind] : m.kind.charAt(0).toUpperCase() + m.kind.slice(1);
  const who = m.participant !== null ? participants.find((p) => p.key === m.participant)?.name : undefined;
  return who ? `${kind} · ${who}` : kind;
}
