import { describe, expect, test, vi } from 'vitest';
import * as Y from 'yjs';
import {
  currentRun,
  exitSummary,
  formatMemory,
  formatMs,
  isAppendOnly,
  listRuns,
  outputOf,
  readRun,
  refusalMessage,
  runLabel,
  runsOf,
  startRun,
  stopRun,
  usageSummary,
  verdictTone,
} from '../../src/lib/runs';

/** A document whose `runs` map looks like the server's (written here as the server would). */
function docWithRuns(runs: Array<Record<string, unknown> & { id: string }>): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (const { id, stdout, ...fields } of runs) {
      const entry = new Y.Map<unknown>();
      runsOf(doc).set(id, entry);
      for (const [k, v] of Object.entries(fields)) entry.set(k, v);
      entry.set('stdout', new Y.Text(typeof stdout === 'string' ? stdout : ''));
      entry.set('stderr', new Y.Text());
    }
  });
  return doc;
}

describe('reading runs from the document', () => {
  test('newest first by started_at, the current run is the newest not done', () => {
    const doc = docWithRuns([
      { id: 'a', status: 'done', verdict: 'ok', started_at: 100 },
      { id: 'c', status: 'running', verdict: null, started_at: 300 },
      { id: 'b', status: 'done', verdict: 'cancelled', started_at: 200 },
    ]);
    const list = listRuns(runsOf(doc));
    expect(list.map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect(currentRun(list)?.id).toBe('c');
    expect(currentRun(list.filter((r) => r.id !== 'c'))).toBeUndefined();
  });

  test('entries that are not maps are skipped, ties fall back to the id', () => {
    const doc = docWithRuns([
      { id: '1a-0', status: 'done', started_at: 5 },
      { id: '1a-1', status: 'done', started_at: 5 },
    ]);
    runsOf(doc).set('junk', 'not a run');
    expect(listRuns(runsOf(doc)).map((r) => r.id)).toEqual(['1a-1', '1a-0']);
  });

  test('fields of the wrong type read as null; unknown status counts as going', () => {
    const fields = new Map<string, unknown>([
      ['status', 'weird'],
      ['verdict', 'exploded'],
      ['cpu_ms', '12'],
      ['wall_ms', Number.NaN],
      ['memory_kb', 2048],
      ['started_by', '   '],
      ['truncated', 'yes'],
    ]);
    const run = readRun('x', fields);
    expect(run).toMatchObject({ status: 'running', verdict: null, cpuMs: null, wallMs: null, memoryKb: 2048, startedBy: 'someone', truncated: false });
    expect(currentRun([run])?.id).toBe('x');
  });

  test('the output streams are the Y.Texts of the entry', () => {
    const doc = docWithRuns([{ id: 'r', status: 'done', stdout: 'hi\n' }]);
    expect(outputOf(runsOf(doc), 'r', 'stdout')?.toString()).toBe('hi\n');
    expect(outputOf(runsOf(doc), 'r', 'stderr')?.toString()).toBe('');
    expect(outputOf(runsOf(doc), 'missing', 'stdout')).toBeUndefined();
  });
});

describe('appending output', () => {
  test('real Y.Text changes: appends are appends, anything else is not', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    const seen: boolean[] = [];
    text.observe((e) => seen.push(isAppendOnly(e.delta, text.length)));
    text.insert(0, 'hello');
    text.insert(5, ' world');
    doc.transact(() => {
      text.insert(text.length, 'a');
      text.insert(text.length, 'b');
    });
    text.insert(0, '>');
    text.delete(0, 1);
    expect(seen).toEqual([true, true, true, false, false]);
  });
  test('an insert after text that was retained past is not an append', () => {
    expect(isAppendOnly([{ insert: 'x' }, { retain: 3 }], 4)).toBe(false);
    expect(isAppendOnly([{ retain: 3 }, { insert: 'xy' }], 5)).toBe(true);
    expect(isAppendOnly([], 3)).toBe(true);
  });
});

describe('words and numbers', () => {
  test('usage', () => {
    expect(formatMs(null)).toBe('–');
    expect(formatMs(32)).toBe('32 ms');
    expect(formatMs(1234)).toBe('1.23 s');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(125_000)).toBe('2 min 5 s');
    expect(formatMemory(512)).toBe('512 KiB');
    expect(formatMemory(3064)).toBe('3.0 MiB');
    expect(formatMemory(131_072)).toBe('128 MiB');
    expect(usageSummary({ cpuMs: 20, wallMs: 32, memoryKb: 3064 })).toBe('CPU 20 ms · wall 32 ms · 3.0 MiB');
    expect(usageSummary({ cpuMs: null, wallMs: null, memoryKb: null })).toBeNull();
  });
  test('labels, tones and how the program ended', () => {
    expect(runLabel({ status: 'running', verdict: null })).toBe('Running…');
    expect(runLabel({ status: 'done', verdict: 'time_limit' })).toBe('Time limit');
    expect(runLabel({ status: 'done', verdict: null })).toBe('Finished');
    expect(verdictTone('ok')).toBe('ok');
    expect(verdictTone('runtime_error')).toBe('error');
    expect(verdictTone('memory_limit')).toBe('limit');
    expect(verdictTone('cancelled')).toBe('neutral');
    expect(exitSummary({ status: 'done', exitCode: 3, signal: null })).toBe('exit 3');
    expect(exitSummary({ status: 'done', exitCode: null, signal: 11 })).toBe('signal 11 (SIGSEGV)');
    expect(exitSummary({ status: 'done', exitCode: 0, signal: null })).toBeNull();
    expect(exitSummary({ status: 'running', exitCode: 1, signal: null })).toBeNull();
  });
  test('refusals say what happened', () => {
    expect(refusalMessage('start', 409, 'the room already has a run going (x)')).toMatch(/already going/);
    expect(refusalMessage('stop', 409, 'the run has already finished')).toBe('That run has already finished.');
    expect(refusalMessage('start', 503, 'the sandbox is busy: 1 runs in progress and 0 queued')).toBe('The sandbox is busy: 1 runs in progress and 0 queued.');
    expect(refusalMessage('start', 503, null)).toMatch(/cannot run code right now/);
    expect(refusalMessage('start', 413, 'Failed to buffer the request body: length limit exceeded')).toMatch(/at most 1 MiB of stdin/);
    expect(refusalMessage('start', 400, 'unknown or unavailable language `cobol`')).toBe('Unknown or unavailable language `cobol`.');
    expect(refusalMessage('start', 500, null)).toBe('The server answered 500.');
  });
});

describe('the HTTP calls', () => {
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  test('start sends stdin and name, and returns the id', async () => {
    const fetchMock = vi.fn(async () => json(202, { id: 'r1', status: 'running' }));
    expect(await startRun('my-room', { stdin: '5\n', name: 'Ada' }, fetchMock)).toEqual({ ok: true, value: 'r1' });
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/rooms/my-room/runs');
    expect(init.method).toBe('POST');
    expect(JSON.parse(String(init.body))).toEqual({ stdin: '5\n', name: 'Ada' });
    await startRun('my-room', { stdin: '' }, fetchMock);
    expect(JSON.parse(String((fetchMock.mock.calls[1] as unknown as [string, RequestInit])[1].body))).toEqual({});
  });

  test('refusals, odd answers and network failures come back as messages', async () => {
    expect(await startRun('r', {}, async () => json(409, { error: 'busy' }))).toEqual({ ok: false, message: expect.stringMatching(/already going/) });
    expect(await startRun('r', {}, async () => new Response('<html>Bad gateway</html>', { status: 502 }))).toEqual({ ok: false, message: 'The server answered 502.' });
    expect(await startRun('r', {}, async () => json(202, { nope: 1 }))).toEqual({ ok: false, message: expect.stringMatching(/not understood/) });
    const down = await startRun('r', {}, async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(down).toEqual({ ok: false, message: 'Could not reach the server (Failed to fetch). Check the connection and try again.' });
  });

  test('stop posts to the run', async () => {
    const fetchMock = vi.fn(async () => json(200, { id: 'a b', status: 'stopping' }));
    expect(await stopRun('room', 'a b', fetchMock)).toEqual({ ok: true, value: true });
    expect((fetchMock.mock.calls[0] as unknown as [string])[0]).toBe('/api/rooms/room/runs/a%20b/stop');
    expect(await stopRun('room', 'x', async () => json(409, { error: 'the run has already finished' }))).toEqual({ ok: false, message: 'That run has already finished.' });
  });
});
