// End-to-end: the player on a 100,000-update recording (the first 100k edits of the
// automerge-paper editing trace, one keystroke every 150 ms with a minute's pause every
// 10,000, and the typist's caret every 10 edits), imported with `peercode replay import`.
// Every moment it is moved to must show exactly the text of that moment; the times it
// takes are printed, never asserted (see BENCHMARKS.md for the server's side).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { assertNoConsoleErrors, launchBrowser, openClient, startServer, waitUntil } from './harness.mjs';

const TRACE = process.env.PEERCODE_TRACES ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'traces', 'automerge-paper.json.gz');
const UPDATES = 100_000;
const STEP_MS = 150;
const PAUSE_EVERY = 10_000;
const PAUSE_MS = 60_000;
const ROOM = 'big-trace';
const CLIENT = 4242;

/** The recording file (docs/recording-format.md) and, for checking, the text after each edit. */
function buildRecording() {
  const trace = JSON.parse(gunzipSync(readFileSync(TRACE)).toString('utf8'));
  const doc = new Y.Doc();
  doc.clientID = CLIENT;
  const updates = [];
  doc.on('update', (u) => updates.push(u));
  const text = doc.getMap('files').set('main.tex', new Y.Text());
  doc.transact(() => {
    doc.getMap('meta').set('language', 'python');
    doc.getMap('meta').set('entry', 'main.tex');
  });
  const lines = [];
  const times = [];
  /** The text's length after each transaction, for checking moments. */
  const shape = [];
  let t = 0;
  let seq = 0;
  let clock = 0;
  const line = (at, kind, s, author, data) => lines.push(JSON.stringify([at, kind, s, author, Buffer.from(data).toString('base64')]));
  const presence = (at) => {
    const anchor = Y.createRelativePositionFromTypeIndex(text, Math.min(text.length, lastPos), -1);
    const state = { user: { name: 'Martin', color: '#0090ff' }, selection: { anchor, head: anchor } };
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, CLIENT);
    encoding.writeVarUint(e, ++clock);
    encoding.writeVarString(e, JSON.stringify(state));
    line(at, 'presence', seq, 'conn:1', encoding.toUint8Array(e));
  };
  let lastPos = 0;
  line(0, 'join', 0, 'conn:1', new Uint8Array());
  for (const u of updates.splice(0)) line(0, 'update', ++seq, `yjs:${CLIENT}`, u);
  times.push(0);
  shape.push({ length: 0 });
  let count = seq;
  for (const txn of trace.txns) {
    if (count >= UPDATES) break;
    t += STEP_MS;
    if (count % PAUSE_EVERY === 0) t += PAUSE_MS;
    doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del > 0) text.delete(pos, del);
        if (ins) text.insert(pos, ins);
        lastPos = pos + ins.length;
      }
    });
    for (const u of updates.splice(0)) {
      line(t, 'update', ++seq, `yjs:${CLIENT}`, u);
      count++;
    }
    times.push(t);
    shape.push({ length: text.length });
    if (count % 10 === 0) presence(t + 5);
  }
  line(t + 10, 'leave', seq, 'conn:1', new Uint8Array());
  const start = Date.now() - t - 60_000;
  const header = {
    format: 'peercode-recording',
    version: 1,
    room: ROOM,
    start_ms: start,
    end_ms: start + t + 10,
    duration_ms: t + 10,
    updates: seq,
    events: lines.length - seq,
    participants: [{ name: 'Martin', color: '#0090ff', clients: [CLIENT] }],
  };
  return { file: `${JSON.stringify(header)}\n${lines.join('\n')}\n`, start, times, shape, final: text.toString(), updates: seq };
}

/** The text's shape at recording time `at` (ms since the start): after the last edit at or before it. */
function shapeAt(rec, at) {
  let lo = 0;
  let hi = rec.times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (rec.times[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return rec.shape[lo];
}

describe('the player on a 100k-update recording', { timeout: 600_000, skip: existsSync(TRACE) ? false : `no trace at ${TRACE}` }, () => {
  let server;
  let browser;
  let rec;
  let dir;

  before(async () => {
    const t0 = Date.now();
    rec = buildRecording();
    dir = mkdtempSync(join(tmpdir(), 'peercode-e2e-big-'));
    const file = join(dir, 'big.jsonl');
    writeFileSync(file, rec.file);
    const built = Date.now();
    const room = execFileSync(process.env.PEERCODE_BIN, ['replay', 'import', file, '--room', ROOM, '--data-dir', join(dir, 'data')], { encoding: 'utf8' }).trim();
    assert.equal(room, ROOM);
    console.log(`# replay-big: ${rec.updates} updates, ${(rec.file.length / 1e6).toFixed(1)} MB file built in ${built - t0} ms, imported in ${Date.now() - built} ms`);
    server = await startServer({ dataDir: join(dir, 'data') });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('moments anywhere show their text at once; dragging asks one at a time; 32× keeps up', async () => {
    const t0 = Date.now();
    // The server's part: the state of a moment, fetched without a browser.
    const serverMs = [];
    for (const f of [0.1, 0.5, 0.9]) {
      const at = Math.round(rec.start + f * (rec.times.at(-1) ?? 0));
      const s0 = performance.now();
      const res = await fetch(`${server.url}/api/rooms/${ROOM}/state?at=${at}&include=update,presence`);
      const body = await res.json();
      serverMs.push(Math.round(performance.now() - s0));
      assert.equal(body.files['main.tex'].length, shapeAt(rec, at - rec.start).length);
    }
    console.log(`# replay-big: GET state (with update, presence) at 10/50/90 %, ms: ${serverMs.join(', ')}`);
    const viewer = await openClient(browser, `${server.url}/r/${ROOM}/replay`, { name: null });
    const v = viewer.page;
    const trackEl = v.locator('.scrub-track');
    await trackEl.waitFor({ timeout: 60000 });
    await v.locator('.editor-host[data-lines]').waitFor({ timeout: 60000 });
    console.log(`# replay-big: player open (timeline + first moment) in ${Date.now() - t0} ms`);
    const start = Number(await trackEl.getAttribute('data-start-ms'));
    const end = Number(await trackEl.getAttribute('data-end-ms'));
    assert.equal(start, rec.start);
    const box = await trackEl.boundingBox();
    const y = box.y + box.height / 2;
    const tAtX = (x) => Math.round(((x - box.x) / box.width) * (end - start));
    const lines = () => v.locator('.editor-host').getAttribute('data-lines').then(Number);
    /** The shown file's length, from Monaco's own model (the editor draws only what is in view). */
    const shownLength = () => v.evaluate(() => document.querySelector('.editor-host')?.getAttribute('data-length')).then(Number);
    const focusOff = () => v.locator('body').click({ position: { x: 5, y: 300 } });

    // Clicks back and forth over the whole recording: each one shows the text of its moment.
    const fractions = [0.9, 0.1, 0.75, 0.3, 0.55, 0.05, 0.95];
    const took = [];
    const split = [];
    const lastMoment = () =>
      v.evaluate(() => ['fetch', 'apply'].map((k) => Math.round(performance.getEntriesByName(`peercode.replay.state-${k}`).at(-1)?.duration ?? -1)));
    for (const f of fractions) {
      const x = Math.round(box.x + box.width * f);
      // The moment under that pixel, to a millisecond either way of rounding.
      const ok = new Set([-1, 0, 1].map((d) => shapeAt(rec, tAtX(x) + d).length));
      const clicked = Date.now();
      await v.mouse.click(x, y);
      await waitUntil(async () => ok.has(await shownLength()) && (await v.locator('.replay-waiting').count()) === 0, `the moment at ${f} (${[...ok]} characters)`, 30000);
      took.push(Date.now() - clicked);
      split.push((await lastMoment()).join('+'));
    }
    console.log(`# replay-big: click to text shown (as polled), ms: ${took.join(', ')}`);
    console.log(`# replay-big: of which fetch + apply in the page, ms: ${split.join(', ')}`);

    // A drag across everything and back: one state request in flight at a time.
    const states = [];
    const onRequest = (r) => r.url().includes('/state?') && states.push(Date.now());
    v.on('request', onRequest);
    await v.mouse.move(box.x + box.width * 0.02, y);
    await v.mouse.down();
    const dragStart = Date.now();
    await v.mouse.move(box.x + box.width * 0.98, y, { steps: 60 });
    await v.mouse.move(box.x + box.width * 0.4, y, { steps: 60 });
    const xEnd = Math.round(box.x + box.width * 0.4);
    await v.mouse.up();
    const released = Date.now();
    const want = new Set([-1, 0, 1].map((d) => shapeAt(rec, tAtX(xEnd) + d).length));
    await waitUntil(async () => want.has(await shownLength()) && (await v.locator('.replay-waiting').count()) === 0, 'the moment let go at', 30000);
    v.off('request', onRequest);
    console.log(`# replay-big: drag of 120 moves over ${released - dragStart} ms: ${states.length} state requests; let go → text in ${Date.now() - released} ms`);
    assert.ok(states.length < 120, `state requests while dragging: ${states.length}`);

    // 32× from 20 % through 4 minutes of the recording (thousands of events, several
    // windows, some cut short by the server): it keeps going, from events fetched ahead.
    await focusOff();
    await v.keyboard.press('Digit2');
    await waitUntil(async () => (await v.locator('.replay-waiting').count()) === 0, 'the 20 % moment');
    await v.getByLabel('Speed').selectOption('32');
    await focusOff();
    const before = await lines();
    const readout = async () => (await v.locator('.replay-now').textContent()).split(':').map(Number).reduce((a, b) => a * 60 + b, 0);
    const from = await readout();
    const playAt = Date.now();
    await v.keyboard.press('Space');
    await waitUntil(async () => (await readout()) >= from + 240, 'four minutes of the recording to play', 60000);
    await v.keyboard.press('Space');
    await v.getByRole('button', { name: 'Play', exact: true }).waitFor();
    const wall = Date.now() - playAt;
    const advanced = (await readout()) - from;
    // Played from events fetched ahead, window after window: the text is exactly that moment's.
    const playhead = Number(await trackEl.getAttribute('data-time-ms'));
    assert.equal(await shownLength(), shapeAt(rec, playhead - start).length, `the text at ${playhead - start} ms after playing`);
    console.log(`# replay-big: 32× for ${wall} ms of watching: ${advanced} s of recording (${(advanced / (wall / 1000)).toFixed(1)}× real time), ${before} → ${await lines()} lines`);
    assert.ok(advanced > 0, 'it played');
    assertNoConsoleErrors(viewer);
    await viewer.context.close();
  });
});
