import { describe, expect, test } from 'vitest';
import { formatTime, IDLE_PLAY_MS, spokenTime, TimeMap } from '../../src/lib/replay/time';
import { digitTime, markerText, nextMarker, prevMarker } from '../../src/lib/replay/markers';
import type { ReplayMarker } from '../../src/lib/replay/api';

describe('time formatting', () => {
  test('m:ss under an hour, h:mm:ss from an hour on (or against a total of an hour or more)', () => {
    expect(formatTime(0)).toBe('0:00');
    expect(formatTime(999)).toBe('0:00');
    expect(formatTime(1000)).toBe('0:01');
    expect(formatTime(65_000)).toBe('1:05');
    expect(formatTime(59 * 60_000 + 59_999)).toBe('59:59');
    expect(formatTime(3_600_000)).toBe('1:00:00');
    expect(formatTime(3_600_000 + 62_000)).toBe('1:01:02');
    // The current time is shown in the total's format, so the two line up.
    expect(formatTime(65_000, 2 * 3_600_000)).toBe('0:01:05');
    expect(formatTime(10 * 3_600_000)).toBe('10:00:00');
  });

  test('nonsense reads as zero', () => {
    expect(formatTime(-5)).toBe('0:00');
    expect(formatTime(Number.NaN)).toBe('0:00');
  });

  test('spoken for screen readers', () => {
    expect(spokenTime(0)).toBe('0 seconds');
    expect(spokenTime(61_000)).toBe('1 minute 1 second');
    expect(spokenTime(3_600_000 + 120_000)).toBe('1 hour 2 minutes');
  });
});

describe('idle skip: play time and recording time', () => {
  // A 100 s recording from t=1000 with a 30 s idle gap (20 s – 50 s in) and a short 5 s one.
  const start = 1000;
  const end = 101_000;
  const idle = [
    { fromMs: 21_000, toMs: 51_000 },
    { fromMs: 70_000, toMs: 75_000 },
  ];

  test('without skip the map is the identity from the start', () => {
    const map = new TimeMap(start, end, idle, false);
    expect(map.playDurationMs).toBe(100_000);
    expect(map.toPlay(31_000)).toBe(30_000);
    expect(map.toRecording(30_000)).toBe(31_000);
    expect(map.inSkippedGap(31_000)).toBe(false);
  });

  test('a gap over 10 s plays in about a second; shorter gaps are left alone', () => {
    const map = new TimeMap(start, end, idle, true);
    expect(map.playDurationMs).toBe(100_000 - 30_000 + IDLE_PLAY_MS);
    // Before the gap: unchanged.
    expect(map.toPlay(11_000)).toBe(10_000);
    expect(map.toPlay(21_000)).toBe(20_000);
    // Across the gap the playhead sweeps 30 s of recording in 1 s of play.
    expect(map.toPlay(36_000)).toBeCloseTo(20_500, 6);
    expect(map.toPlay(51_000)).toBe(21_000);
    // After it, shifted by what was skipped.
    expect(map.toPlay(60_000)).toBe(30_000);
    expect(map.toPlay(72_000)).toBe(42_000);
    expect(map.inSkippedGap(36_000)).toBe(true);
    expect(map.inSkippedGap(72_000)).toBe(false);
  });

  test('the two directions are inverse, and clamp to the recording', () => {
    const map = new TimeMap(start, end, idle, true);
    for (const r of [start, 5_000, 21_000, 22_500, 40_000, 51_000, 70_001, end]) {
      expect(map.toRecording(map.toPlay(r))).toBeCloseTo(r, 6);
    }
    expect(map.toPlay(0)).toBe(0);
    expect(map.toRecording(-1)).toBe(start);
    expect(map.toRecording(1e12)).toBe(end);
  });

  test('advancing: 1 s of watching at 8× crosses 8 s; into the gap it crosses 30 s of recording in 1 s', () => {
    const map = new TimeMap(start, end, idle, true);
    expect(map.advance(11_000, 1000, 8)).toBe(19_000);
    expect(map.advance(21_000, 1000, 1)).toBe(51_000);
    expect(map.advance(100_000, 5000, 32)).toBe(end);
    const off = new TimeMap(start, end, idle, false);
    expect(off.advance(21_000, 1000, 1)).toBe(22_000);
  });

  test('overlapping and out-of-range gaps are merged and clipped', () => {
    const map = new TimeMap(0, 100_000, [
      { fromMs: -50_000, toMs: 20_000 },
      { fromMs: 40_000, toMs: 60_000 },
      { fromMs: 55_000, toMs: 80_000 },
    ], true);
    // 0–20 s idle, 40–80 s idle: 100 s − 60 s + 2 × 1 s.
    expect(map.playDurationMs).toBe(42_000);
    expect(map.toRecording(1000)).toBe(20_000);
  });
});

describe('markers', () => {
  const m = (tMs: number, kind = 'run'): ReplayMarker => ({ tMs, kind, label: '', participant: null });
  const markers = [m(1000), m(5000, 'join'), m(5000, 'paste'), m(9000, 'leave')];

  test('next: strictly after the playhead', () => {
    expect(nextMarker(markers, 0)?.tMs).toBe(1000);
    expect(nextMarker(markers, 1000)?.tMs).toBe(5000);
    expect(nextMarker(markers, 5000)?.tMs).toBe(9000);
    expect(nextMarker(markers, 9000)).toBeNull();
    expect(nextMarker([], 0)).toBeNull();
  });

  test('previous: strictly before, with a grace while playing', () => {
    expect(prevMarker(markers, 9000)?.tMs).toBe(5000);
    expect(prevMarker(markers, 5000)?.tMs).toBe(1000);
    expect(prevMarker(markers, 5001)?.tMs).toBe(5000);
    expect(prevMarker(markers, 1000)).toBeNull();
    // Just past the marker at 5 s while playing: to the one before it.
    expect(prevMarker(markers, 5400, 800)?.tMs).toBe(1000);
    expect(prevMarker(markers, 6000, 800)?.tMs).toBe(5000);
  });

  test('digits jump to tenths of the recording', () => {
    expect(digitTime(1000, 60_000, 0)).toBe(1000);
    expect(digitTime(1000, 60_000, 5)).toBe(31_000);
    expect(digitTime(1000, 60_000, 9)).toBe(55_000);
  });

  test("marker text: the server's label, else the kind and who", () => {
    const people = [{ key: 'p0', name: 'Ada', color: '#30bced', clients: [1], firstMs: 0, lastMs: 0, updates: 0 }];
    expect(markerText({ tMs: 0, kind: 'run', label: 'Run by Ada: ok', participant: 'p0' }, people)).toBe('Run by Ada: ok');
    expect(markerText({ tMs: 0, kind: 'paste', label: ' ', participant: 'p0' }, people)).toBe('Paste · Ada');
    expect(markerText({ tMs: 0, kind: 'leave', label: '', participant: null }, people)).toBe('Left');
    expect(markerText({ tMs: 0, kind: 'bookmark', label: '', participant: 'p9' }, people)).toBe('Bookmark');
  });
});
