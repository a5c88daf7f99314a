import { describe, expect, test, vi } from 'vitest';
import * as Y from 'yjs';
import { Player, LOCAL_SEEK_MAX_EVENTS } from '../../src/lib/replay/player';
import { EventBuffer, planWindow, stepBackTarget, windowCoverage, LOW_WATER_WALL_MS, MIN_WINDOW_MS } from '../../src/lib/replay/window';
import { ReplayPresence } from '../../src/lib/replay/presence';
import { parseEvents, parseState, parseTimeline, replayApi, ReplayError } from '../../src/lib/replay/api';
import { TimeMap } from '../../src/lib/replay/time';
import { FakeServer, flush, Recording, TestClock } from './replayFake';

/** Ada types "hello" one letter a second from t+1 s; Bob adds " world" from t+20 s; cursors along. */
function scriptedSession() {
  const rec = new Recording();
  const t0 = rec.start;
  const ada = rec.client('Ada', 101);
  const bob = rec.client('Bob', 202);
  ada.at(t0, (doc) => doc.getMap('files').set('main.py', new Y.Text()));
  'hello'.split('').forEach((ch, i) => {
    ada.at(t0 + 1000 * (i + 1), () => ada.text().insert(i, ch));
    ada.cursor(t0 + 1000 * (i + 1) + 10, i + 1);
  });
  ' world'.split('').forEach((ch, i) => {
    bob.at(t0 + 20_000 + 1000 * i, () => bob.text().insert(5 + i, ch));
    bob.cursor(t0 + 20_000 + 1000 * i + 10, 6 + i);
  });
  return { rec, t0 };
}

const textOf = (p: Player) => p.getView().doc?.getMap<Y.Text>('files').get('main.py')?.toString() ?? '';

async function openPlayer(server: FakeServer, clock = new TestClock()) {
  const player = new Player('room', { api: server, clock });
  await player.load();
  await flush();
  return { player, clock };
}

describe('event windows', () => {
  const map = new TimeMap(0, 600_000, [], false);

  test('nothing to fetch while enough is buffered; the next window when it runs low', () => {
    expect(planWindow({ time: 0, coveredUntil: 60_000, endMs: 600_000, speed: 1, map })).toBeNull();
    const low = planWindow({ time: 0, coveredUntil: LOW_WATER_WALL_MS - 1, endMs: 600_000, speed: 1, map });
    expect(low).toEqual({ afterMs: LOW_WATER_WALL_MS - 1, untilMs: LOW_WATER_WALL_MS - 1 + 20_000 });
  });

  test('windows reach further at higher speeds and stop at the end', () => {
    const at8 = planWindow({ time: 0, coveredUntil: 0, endMs: 600_000, speed: 8, map })!;
    expect(at8.untilMs).toBe(160_000);
    // 8× with 20 s buffered is only 2.5 s of watching: fetch.
    expect(planWindow({ time: 0, coveredUntil: 20_000, endMs: 600_000, speed: 8, map })).not.toBeNull();
    expect(planWindow({ time: 590_000, coveredUntil: 595_000, endMs: 600_000, speed: 32, map })!.untilMs).toBe(600_000);
    expect(planWindow({ time: 0, coveredUntil: 600_000, endMs: 600_000, speed: 32, map })).toBeNull();
  });

  test('with idle skip a window spans the skipped gap, at least MIN_WINDOW_MS', () => {
    const skip = new TimeMap(0, 600_000, [{ fromMs: 10_000, toMs: 300_000 }], true);
    const w = planWindow({ time: 0, coveredUntil: 5_000, endMs: 600_000, speed: 1, map: skip })!;
    // 5 s to the gap, 1 s through it, then 14 s after it.
    expect(w.untilMs).toBe(314_000);
    const tiny = new TimeMap(0, 600_000, [], false);
    expect(planWindow({ time: 0, coveredUntil: 0, endMs: 600_000, speed: 0.5, map: tiny })!.untilMs).toBeGreaterThanOrEqual(MIN_WINDOW_MS);
  });

  test('a cut-short window covers up to next_after; a stale one is refused', () => {
    const buf = new EventBuffer(100);
    const win = parseEvents({
      after_ms: 100,
      until_ms: 1000,
      more: true,
      next_after: 300,
      events: [
        { t_ms: 200, seq: 1, type: 'join', author: 'a' },
        { t_ms: 300, seq: 2, type: 'leave', author: 'a' },
      ],
    });
    expect(windowCoverage(win)).toBe(300);
    expect(buf.append(win)).toBe(true);
    expect(buf.coveredUntil).toBe(300);
    expect(buf.append(win)).toBe(false); // starts at 100, the buffer now ends at 300
    expect(buf.pendingUntil(250)).toBe(1);
    expect(buf.take(250).map((e) => e.tMs)).toEqual([200]);
    expect(buf.nextTime()).toBe(300);
    expect(buf.appliedTimes()).toEqual([200]);
  });

  test('a step back goes before the last event the document includes', () => {
    expect(stepBackTarget([1, 2, 3], 3)).toBe(2);
    expect(stepBackTarget([1, 2, 3], 3.5)).toBe(2);
    expect(stepBackTarget([1, 2, 2, 3, 3], 3)).toBe(2);
    expect(stepBackTarget([3], 3)).toBeNull();
    expect(stepBackTarget([], 3)).toBeNull();
  });
});

describe('reading the routes', () => {
  test('timeline fields, markers sorted, bad colours replaced', () => {
    const tl = parseTimeline({
      start_ms: 10,
      end_ms: 20,
      participants: [{ key: 'p0', name: 'Ada', color: 'red', clients: [1, 'x'] }],
      markers: [{ t_ms: 15, kind: 'run', label: 'x' }, { t_ms: 12, kind: 'join', label: 'y', participant: 'p0' }, { kind: 'paste' }],
      activity: [{ participant: 'p0', from_ms: 11, to_ms: 12 }],
      idle: [{ from_ms: 5, to_ms: 1 }],
    });
    expect(tl.durationMs).toBe(10);
    expect(tl.participants[0]).toMatchObject({ name: 'Ada', color: '#888888', clients: [1] });
    expect(tl.markers.map((m) => m.tMs)).toEqual([12, 15]);
    expect(tl.idle).toEqual([]);
  });

  test('a state without at_ms, or events with more but no next_after, are refused', () => {
    expect(() => parseState({ files: {} })).toThrow(ReplayError);
    expect(() => parseEvents({ after_ms: 0, until_ms: 1, more: true, events: [] })).toThrow(/next_after/);
    expect(parseEvents({ after_ms: 0, until_ms: 9, events: [{ t_ms: 5, seq: 1, type: 'bookmark' }] }).events[0]).toMatchObject({ type: 'other', kind: 'bookmark' });
  });

  test('404 is "nothing recorded"; other errors carry the server\'s words', async () => {
    const api = replayApi(async (url) =>
      url.includes('timeline')
        ? new Response(JSON.stringify({ error: 'no such room' }), { status: 404 })
        : new Response(JSON.stringify({ error: 'boom' }), { status: 500 }),
    );
    await expect(api.timeline('r')).rejects.toMatchObject({ kind: 'not_found' });
    await expect(api.state('r', 5)).rejects.toMatchObject({ kind: 'http', message: 'The server answered 500: boom.' });
  });

  test('the requests: encoded room, integer times, include=update,presence, fork body', async () => {
    const urls: string[] = [];
    const bodies: unknown[] = [];
    const api = replayApi(async (url, init) => {
      urls.push(url);
      if (init?.body) bodies.push(JSON.parse(String(init.body)));
      if (url.endsWith('/fork')) return new Response(JSON.stringify({ room: 'new-one' }), { status: 201 });
      if (url.includes('/events')) return new Response(JSON.stringify({ after_ms: 1, until_ms: 2, more: false, next_after: null, events: [] }));
      return new Response(JSON.stringify({ at_ms: 5, seq: 1, files: {}, meta: {} }));
    });
    await api.state('a b', 5.7);
    await api.events('a b', 1.2, 2.9);
    expect(await api.fork('a b', 7.9)).toBe('new-one');
    expect(urls).toEqual([
      '/api/rooms/a%20b/state?at=5&include=update,presence',
      '/api/rooms/a%20b/events?after=1&until=2',
      '/api/rooms/a%20b/fork',
    ]);
    expect(bodies).toEqual([{ at: 7 }]);
  });
});

describe('presence from the recording', () => {
  test('states set and removed, one change event per batch', () => {
    const p = new ReplayPresence();
    const changes: unknown[] = [];
    p.awareness.on('change', (c: unknown) => changes.push(c));
    p.reset([{ client: 1, state: { user: { name: 'Ada' } } }]);
    p.apply([
      { client: 2, state: { user: { name: 'Bob' } } },
      { client: 1, state: null },
      { client: 3, state: { user: { name: 'Eve' } } },
      { client: 3, state: null },
    ]);
    expect([...p.awareness.getStates().keys()]).toEqual([2]);
    expect(changes).toEqual([
      { added: [1], updated: [], removed: [] },
      { added: [2], updated: [], removed: [1] },
    ]);
    expect(p.awareness.getLocalState()).toBeNull();
    p.destroy();
  });

  test("someone who keeps still for a minute of watching stays (y-protocols' 30 s timeout is off)", () => {
    vi.useFakeTimers();
    try {
      const p = new ReplayPresence();
      p.reset([{ client: 7, state: { user: { name: 'Still' } } }]);
      // As if a minute had passed since (lib0 reads the real Date.now, which fake timers leave be).
      p.awareness.meta.get(7)!.lastUpdated -= 60_000;
      vi.advanceTimersByTime(60_000);
      expect([...p.awareness.getStates().keys()]).toEqual([7]);
      p.destroy();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the player', () => {
  test('opens at the start; a seek shows the text of that moment and who was where', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    const { player } = await openPlayer(server);
    expect(player.getView().phase).toBe('loading');
    expect(textOf(player)).toBe('');
    player.seek(t0 + 3500);
    await flush();
    expect(textOf(player)).toBe('hel');
    expect(textOf(player)).toBe(rec.textAt(t0 + 3500));
    const states = player.presence.awareness.getStates();
    expect((states.get(101)?.user as { name: string }).name).toBe('Ada');
    expect(states.has(202)).toBe(false);
    // Ahead (played from the events: Bob arrives), then back (a fetched state: he is gone again).
    player.seek(t0 + 25_000);
    await flush();
    expect(player.presence.awareness.getStates().has(202)).toBe(true);
    const before = player.getView().doc;
    player.seek(t0 + 3500);
    await flush();
    expect(player.getView().doc).not.toBe(before);
    expect(textOf(player)).toBe('hel');
    expect([...player.presence.awareness.getStates().keys()]).toEqual([101]);
    player.destroy();
  });

  test('playing applies buffered events locally: no state is fetched while it plays', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    const { player, clock } = await openPlayer(server);
    await flush();
    const statesBefore = server.calls.filter((c) => c.route === 'state').length;
    player.setSpeed(8);
    player.play();
    for (let i = 0; i < 40; i++) {
      clock.tick(100);
      await flush();
    }
    // 4 s of watching at 8× = 32 s: past the end (26 s), so it stopped there.
    expect(player.getView().playing).toBe(false);
    expect(player.getTime()).toBe(rec.end);
    expect(textOf(player)).toBe('hello world');
    expect(server.calls.filter((c) => c.route === 'state').length).toBe(statesBefore);
    // The window fetched at 1× after opening, then one reaching 8 × 20 s ahead: 40 frames, two requests.
    expect(server.calls.filter((c) => c.route === 'events').map((c) => c.args)).toEqual([
      [t0, t0 + 20_000],
      [t0 + 20_000, rec.end],
    ]);
    expect(player.presence.awareness.getStates().has(202)).toBe(true);
    player.destroy();
  });

  test('playing through an idle gap takes about a second with skip on, the whole gap with it off', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    server.idle = [{ from_ms: t0 + 5010, to_ms: t0 + 20_000 }];
    const { player, clock } = await openPlayer(server);
    player.seek(t0 + 5010);
    await flush();
    player.play();
    for (let i = 0; i < 12; i++) {
      clock.tick(100);
      await flush();
    }
    // 1.2 s of watching at 1×: through the 15 s gap (1 s) and 0.2 s beyond.
    expect(player.getTime()).toBeCloseTo(t0 + 20_200, -1);
    expect(textOf(player)).toBe('hello ');
    player.pause();
    player.setSkipIdle(false);
    player.seek(t0 + 5010);
    await flush();
    player.play();
    for (let i = 0; i < 12; i++) {
      clock.tick(100);
      await flush();
    }
    expect(player.getTime()).toBeCloseTo(t0 + 6210, -1);
    player.destroy();
  });

  test('dragging: one state request at a time, the newest position next, the final one exact', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    const { player, clock } = await openPlayer(server);
    player.seek(t0 + 25_000);
    await flush();
    server.manual = true;
    server.calls = [];
    // Dragging back over the session: 20 moves, each further back (all need a state).
    for (let i = 0; i < 20; i++) {
      player.seek(t0 + 24_000 - i * 1000, { dragging: true });
      clock.tick(5);
    }
    expect(server.calls.filter((c) => c.route === 'state').length).toBe(1);
    server.release();
    await flush();
    clock.tick(100); // the drag interval passes
    await flush();
    // The newest position was asked for next, not the 18 in between.
    const states = server.calls.filter((c) => c.route === 'state');
    expect(states.map((c) => c.args[0])).toEqual([t0 + 24_000, t0 + 5_000]);
    // Let go: the position released at wins over the one in flight, which is aborted.
    player.seek(t0 + 2000);
    expect(states[1]!.signal?.aborted).toBe(true);
    while (server.pending.length > 0) server.release();
    await flush();
    expect(textOf(player)).toBe('he');
    player.destroy();
  });

  test('a stale state answer is dropped even when it arrives last', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    const { player } = await openPlayer(server);
    player.seek(t0 + 25_000);
    await flush();
    server.manual = true;
    // The older answer arrives although its request was aborted (it was on its way).
    server.ignoreAbort = true;
    player.seek(t0 + 2000);
    player.seek(t0 + 3000); // a second seek back, before the first answered
    expect(server.calls.filter((c) => c.route === 'state').at(-2)?.signal?.aborted).toBe(true);
    // Answer the newer one first, then the older one.
    server.release((c) => c.route === 'state' && c.args[0] === t0 + 3000);
    await flush();
    expect(textOf(player)).toBe('hel');
    server.release((c) => c.route === 'state' && c.args[0] === t0 + 2000);
    await flush();
    expect(textOf(player)).toBe('hel');
    player.destroy();
  });

  test('a short seek forward is applied from the buffer without a request', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    const { player } = await openPlayer(server);
    player.seek(t0 + 1000);
    await flush();
    await flush();
    const before = server.calls.length;
    const doc = player.getView().doc;
    player.seekBy(3000);
    expect(textOf(player)).toBe('hell');
    expect(player.getView().doc).toBe(doc);
    expect(server.calls.length).toBe(before);
    expect(LOCAL_SEEK_MAX_EVENTS).toBeGreaterThan(100);
    player.destroy();
  });

  test('markers, digits and steps', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    const { player } = await openPlayer(server);
    await flush();
    // Steps forward go event by event (update at +1 s, then Ada's cursor at +1.01 s).
    await player.step(1);
    await flush();
    expect(player.getTime()).toBe(t0 + 1000);
    await player.step(1);
    expect(player.getTime()).toBe(t0 + 1010);
    await player.step(1);
    expect(player.getTime()).toBe(t0 + 2000);
    expect(textOf(player)).toBe('he');
    await player.step(-1);
    await flush();
    expect(player.getTime()).toBe(t0 + 1010);
    expect(textOf(player)).toBe('h');
    player.seekToDigit(5);
    await flush();
    expect(player.getTime()).toBe(Math.round(t0 + (rec.end - t0) / 2));
    player.destroy();
  });

  test('nothing recorded (404) and errors are said, not thrown', async () => {
    const notFound = new Player('r', {
      api: { ...new FakeServer(new Recording()), timeline: () => Promise.reject(new ReplayError('not_found', 'x', 404)) } as never,
    });
    await notFound.load();
    expect(notFound.getView()).toMatchObject({ phase: 'empty', message: 'Nothing has been recorded in this room yet.' });
    const broken = new Player('r', {
      api: { timeline: () => Promise.reject(new ReplayError('network', 'Could not reach the server.')) } as never,
    });
    await broken.load();
    expect(broken.getView()).toMatchObject({ phase: 'error', message: 'Could not open the recording: Could not reach the server.' });
  });

  test("a connection's leave removes the cursors it announced", async () => {
    const { rec, t0 } = scriptedSession();
    rec.leave(t0 + 23_000, 101);
    const server = new FakeServer(rec);
    const { player, clock } = await openPlayer(server);
    const playTo = async (from: number, until: number) => {
      player.seek(from);
      await flush();
      await flush();
      player.setSpeed(8);
      player.play();
      while (player.getTime() < until) {
        clock.tick(100);
        await flush();
      }
      player.pause();
    };
    const present = () => [...player.presence.awareness.getStates().keys()].sort();
    // Played through Ada's presence, then her leave: she is gone.
    await playTo(t0 + 4000, t0 + 23_500);
    expect(present()).toEqual([202]);
    // Seek to 22 s: her state comes with the moment, without its connection, so her leave
    // cannot be matched to her (the server's presence entries do not name it yet)...
    await playTo(t0 + 22_000, t0 + 23_500);
    expect(present()).toEqual([101, 202]);
    // ...and with the connection named, it can.
    server.presenceAuthors = true;
    await playTo(t0 + 22_000, t0 + 23_500);
    expect(present()).toEqual([202]);
    player.destroy();
  });

  test('fork asks for the moment the playhead is at', async () => {
    const { rec, t0 } = scriptedSession();
    const server = new FakeServer(rec);
    const { player } = await openPlayer(server);
    player.seek(t0 + 4321);
    await flush();
    expect(await player.fork()).toBe('forked-room');
    expect(server.forks).toEqual([t0 + 4321]);
    player.destroy();
  });
});
