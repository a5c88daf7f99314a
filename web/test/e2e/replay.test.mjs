// End-to-end: the replay player against the real `peercode serve` and its recording. Two
// people type known text in Chromium, one run, one paste; then the player is moved to known
// moments (found in the server's own recording) and must show exactly the text of each, the
// recorded cursors with their names and the run panel as it stood; it plays at 8×; a moment
// forks into a new room holding that exact text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoConsoleErrors,
  editorText,
  openClient,
  screenshot,
  useServerAndBrowser,
  waitForEditorText,
  waitForRoom,
  waitUntil,
} from './harness.mjs';

const ROOM = 'replay-e2e';
const WAIT = { timeout: 20000 };
/** Requests refused on purpose (404 of an empty room, intercepted 500s) are logged by Chromium. */
const REFUSED = [/Failed to load resource/];

const PHASE_A = 'a = 1\nb = 2\n'; // Ada
const PHASE_B = 'print(a + b)\n'; // Grace
// Ada, in one go (a paste marker: 200 characters or more); one line, so the editor shows it all.
const PASTE = `data = [${'10, '.repeat(60)}]\n`;
const PHASE_C = 'print(len(data))'; // Grace
const trimEnd = (s) => s.replace(/\s+$/, '');

/** m:ss of an offset, as the player shows it for a recording under an hour. */
const clock = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor((ms % 60000) / 1000)).padStart(2, '0')}`;

async function typeSlowly(page, text) {
  await page.locator('.editor-host .view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text, { delay: 25 });
}

async function getJson(url) {
  const res = await fetch(url);
  if (res.status !== 200) assert.fail(`${url} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Every recorded event of the room, through as many windows as the server cuts it into. */
async function allEvents(base, tl) {
  const out = [];
  let after = tl.start_ms - 1;
  for (let page = 0; page < 100; page++) {
    const w = await getJson(`${base}/events?after=${after}&until=${tl.end_ms}`);
    out.push(...w.events);
    if (!w.more) return out;
    after = w.next_after;
  }
  assert.fail('the events never ended');
}

describe('the replay player', { timeout: 300_000 }, () => {
  const env = useServerAndBrowser();
  let ada;
  let grace;
  let viewer;
  /** What the recording says, found from the server's own routes. */
  let rec;
  const api = () => `${env.server.url}/api/rooms/${ROOM}`;
  const replayUrl = () => `${env.server.url}/r/${ROOM}/replay`;

  const track = () => viewer.page.locator('.scrub-track');
  /**
   * Where `t` is on the scrubber, from the timeline the page loaded (the recording goes on
   * while Ada and Grace stay connected, so it may end later than `rec.tl`).
   */
  async function xOf(page, t) {
    const el = page.locator('.scrub-track');
    const box = await el.boundingBox();
    const start = Number(await el.getAttribute('data-start-ms'));
    const end = Number(await el.getAttribute('data-end-ms'));
    return { x: box.x + (box.width * (t - start)) / (end - start), y: box.y + box.height / 2, start, end };
  }
  async function clickAt(page, t) {
    const { x, y } = await xOf(page, t);
    await page.mouse.click(x, y);
  }
  const readout = (page) => page.locator('.replay-now').textContent();
  const label = (page, name) => page.locator(`.remote-cursor-label[data-name="${name}"]`);

  test('a scripted session: two people type, a run, a paste', async () => {
    const { browser, server } = env;
    ada = await openClient(browser, `${server.url}/r/${ROOM}`, { name: 'Ada Lovelace', permissions: ['clipboard-read', 'clipboard-write'] });
    await waitForRoom(ada.page);
    await typeSlowly(ada.page, PHASE_A);
    await waitForEditorText(ada.page, trimEnd(PHASE_A));

    grace = await openClient(browser, `${server.url}/r/${ROOM}`, { name: 'Grace Hopper' });
    await waitForRoom(grace.page);
    await waitForEditorText(grace.page, trimEnd(PHASE_A));
    await typeSlowly(grace.page, PHASE_B);
    await waitForEditorText(ada.page, trimEnd(PHASE_A + PHASE_B));

    // A run of the room's code (the server runs its own copy: prints 3).
    const started = await fetch(`${api()}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (started.status !== 202) assert.fail(`POST runs answered ${started.status}: ${await started.text()}`);
    const { id } = await started.json();
    const run = await waitUntil(async () => {
      const r = await getJson(`${api()}/runs/${id}`);
      return r.status === 'done' ? r : null;
    }, 'the run to finish', 20000);
    assert.equal(run.verdict, 'ok', JSON.stringify(run));
    assert.equal(run.stdout, '3\n');
    await ada.page.locator('.run-summary .run-verdict[data-verdict="ok"]').waitFor(WAIT);

    // A real paste (Ctrl+V from the clipboard): Monaco inserts it as one edit.
    await ada.page.evaluate((text) => navigator.clipboard.writeText(text), PASTE);
    await ada.page.locator('.editor-host .view-lines').click();
    await ada.page.keyboard.press('Control+End');
    await ada.page.keyboard.press('Control+V');
    await waitForEditorText(grace.page, trimEnd(PHASE_A + PHASE_B + PASTE));
    await typeSlowly(grace.page, PHASE_C);
    await waitForEditorText(ada.page, trimEnd(PHASE_A + PHASE_B + PASTE + PHASE_C));

    // What the server recorded: the moments the player is moved to below.
    const tl = await getJson(`${api()}/timeline`);
    const kinds = tl.markers.map((m) => m.kind);
    for (const k of ['join', 'run', 'paste']) assert.ok(kinds.includes(k), `a ${k} marker in ${JSON.stringify(kinds)}`);
    const person = (name) => tl.participants.find((p) => p.name === name);
    assert.ok(person('Ada Lovelace') && person('Grace Hopper'), JSON.stringify(tl.participants));
    const events = await allEvents(api(), tl);
    const updatesBy = (name) => events.filter((e) => e.type === 'update' && person(name).clients.some((c) => e.author === `yjs:${c}`)).map((e) => e.t_ms);
    const graceUpdates = updatesBy('Grace Hopper');
    const graceFirst = graceUpdates[0];
    const adaBeforeGrace = Math.max(...updatesBy('Ada Lovelace').filter((t) => t < graceFirst));
    const paste = tl.markers.find((m) => m.kind === 'paste').t_ms;
    const afterPaste = graceUpdates.find((t) => t > paste);
    rec = {
      tl,
      // Between Ada's last keystroke and Grace's first: Ada's text only.
      betweenPhases: Math.floor((adaBeforeGrace + graceFirst) / 2),
      betweenPhasesWindow: [adaBeforeGrace, graceFirst],
      paste,
      afterPaste: Math.floor((paste + afterPaste) / 2),
      afterPasteWindow: [paste, afterPaste],
    };
    // The server agrees on the texts of those moments (else the player cannot).
    const at = async (t) => (await getJson(`${api()}/state?at=${t}`)).files['main.py'];
    assert.equal(await at(rec.betweenPhases), PHASE_A);
    assert.equal(await at(rec.paste), PHASE_A + PHASE_B + PASTE);
    assert.equal(await at(rec.afterPaste), PHASE_A + PHASE_B + PASTE);
    assert.ok(rec.betweenPhasesWindow[1] - rec.betweenPhasesWindow[0] >= 30, `the phases are apart: ${rec.betweenPhasesWindow}`);
    assertNoConsoleErrors(ada);
    assertNoConsoleErrors(grace);
  });

  test('moved to a moment, the player shows its text and the cursor of who was typing, with the name', async () => {
    viewer = await openClient(env.browser, replayUrl(), { name: null });
    const v = viewer.page;
    await track().waitFor(WAIT);
    await v.locator('.editor-host .monaco-editor').waitFor(WAIT);
    const { start, end } = await xOf(v, rec.tl.start_ms);
    assert.equal(start, rec.tl.start_ms);
    assert.equal(await v.locator('.replay-total').textContent(), clock(end - start));
    // To the end first, so the moment is reached going back: the state of that moment is
    // fetched into a new document (going forward is played from the events instead).
    await clickAt(v, end - 1);
    await waitForEditorText(v, trimEnd(PHASE_A + PHASE_B + PASTE + PHASE_C));
    await clickAt(v, rec.betweenPhases);
    await waitForEditorText(v, trimEnd(PHASE_A));
    assert.equal(await readout(v), clock(rec.betweenPhases - start));
    // Ada's caret where she stopped typing (line 3), with her name.
    await label(v, 'Ada Lovelace').waitFor({ state: 'visible', ...WAIT });
    await v.locator('.participants').getByText('Ada Lovelace').waitFor(WAIT);
    // Read-only: typing changes nothing.
    await v.locator('.editor-host .view-lines').click();
    await v.keyboard.insertText('zzz');
    assert.equal(await editorText(v), trimEnd(PHASE_A));
    await screenshot(v, 'replay-1280x720-dark');
  });

  test('a marker moment: the paste, with the run panel and both cursors as they stood; [ and ] move between markers', async () => {
    const v = viewer.page;
    await v.locator('.moments .moment.kind-paste').click();
    await waitForEditorText(v, trimEnd(PHASE_A + PHASE_B + PASTE));
    await v.locator('.moment.current.kind-paste').waitFor(WAIT);
    // The run had finished by then: its verdict and output as the room saw them.
    await v.locator('.run-panel .run-summary .run-verdict[data-verdict="ok"]').waitFor(WAIT);
    assert.equal(await v.locator('.run-panel .run-stdout .run-text').textContent(), '3\n');
    await label(v, 'Grace Hopper').waitFor({ state: 'attached', ...WAIT });
    await label(v, 'Ada Lovelace').waitFor({ state: 'attached', ...WAIT });
    // No way to start or stop anything.
    assert.equal(await v.locator('.run-panel .run-button').count(), 0);

    await v.locator('body').click({ position: { x: 5, y: 300 } }); // focus off the list
    await v.keyboard.press('BracketLeft');
    await v.locator('.moment.current.kind-run').waitFor(WAIT);
    await v.keyboard.press('BracketRight');
    await v.locator('.moment.current.kind-paste').waitFor(WAIT);
    await waitForEditorText(v, trimEnd(PHASE_A + PHASE_B + PASTE));
  });

  test('dragging the scrubber asks for one moment at a time and ends on the one let go at', async () => {
    const v = viewer.page;
    // A slow server (each moment takes 300 ms more): a drag must not pile requests up on it.
    await v.route('**/state?*', async (route) => {
      const response = await route.fetch();
      await new Promise((r) => setTimeout(r, 300));
      await route.fulfill({ response }).catch(() => {}); // an aborted request is gone
    });
    const states = [];
    const onRequest = (r) => r.url().includes('/state?') && states.push(r.url());
    v.on('request', onRequest);
    const { y, end } = await xOf(v, rec.afterPaste);
    const x = async (t) => (await xOf(v, t)).x;
    // From the end (just inside the track) back to the quiet after the paste: 20 moves, each
    // one a moment further back.
    await v.mouse.move((await x(end)) - 2, y);
    await v.mouse.down();
    await v.mouse.move(await x(rec.afterPaste), y, { steps: 20 });
    await v.mouse.up();
    await waitForEditorText(v, trimEnd(PHASE_A + PHASE_B + PASTE));
    await waitUntil(async () => (await v.locator('.replay-waiting').count()) === 0, 'the last moment to load');
    v.off('request', onRequest);
    await v.unroute('**/state?*');
    console.log(`# replay: a drag of 20 moves over a slow server asked for ${states.length} moments`);
    assert.ok(states.length >= 1 && states.length <= 8, `state requests while dragging: ${states.length}`);
    // The moment asked for last is the one let go at.
    const last = Number(new URL(states.at(-1)).searchParams.get('at'));
    assert.ok(last >= rec.afterPasteWindow[0] && last < rec.afterPasteWindow[1], `last state at ${last}, window ${rec.afterPasteWindow}`);
  });

  test('playing at 8×: the time advances about 8 s per second and the text grows', async () => {
    const v = viewer.page;
    await v.locator('body').click({ position: { x: 5, y: 300 } });
    await v.keyboard.press('Digit0');
    await waitUntil(async () => (await readout(v)) === '0:00', 'the start');
    const textAtStart = await editorText(v);
    await v.getByLabel('Speed').selectOption('8');
    await v.locator('body').click({ position: { x: 5, y: 300 } });
    const t0 = Date.now();
    await v.keyboard.press('Space');
    await v.getByRole('button', { name: 'Pause' }).waitFor(WAIT);
    const target = Math.min(4, Math.floor((rec.tl.end_ms - rec.tl.start_ms) / 1000));
    await waitUntil(async () => {
      const [m, s] = (await readout(v)).split(':').map(Number);
      return m * 60 + s >= target;
    }, `the readout to reach ${target} s`);
    const wall = Date.now() - t0;
    console.log(`# replay: ${target} s of recording played in ${wall} ms at 8×`);
    // 8× would take 500 ms; well under 1× or 2×, whatever the machine's load.
    assert.ok(wall < (target * 1000) / 3, `${target} s played in ${wall} ms`);
    // To the end: everything typed is there, and the button offers to play again.
    await v.getByRole('button', { name: 'Play again' }).waitFor({ timeout: 30000 });
    const final = await editorText(v);
    assert.equal(final, trimEnd(PHASE_A + PHASE_B + PASTE + PHASE_C));
    assert.ok(final.length > textAtStart.length, 'the text grew');
    const { start, end } = await xOf(v, rec.tl.start_ms);
    assert.equal(await readout(v), clock(end - start));
  });

  test('keys: Space plays and pauses, digits jump to tenths; the shortcuts dialog lists them', async () => {
    const v = viewer.page;
    await v.locator('body').click({ position: { x: 5, y: 300 } });
    await v.keyboard.press('Digit5');
    const { start, end } = await xOf(v, rec.tl.start_ms);
    const half = clock(Math.floor((end - start) / 2));
    await waitUntil(async () => (await readout(v)) === half, `the readout at ${half}`);
    await v.getByLabel('Speed').selectOption('0.5');
    // Space on the focused Play button plays (once), and again pauses.
    await v.getByRole('button', { name: 'Play', exact: true }).focus();
    await v.keyboard.press('Space');
    await v.getByRole('button', { name: 'Pause' }).waitFor(WAIT);
    await v.keyboard.press('Space');
    await v.getByRole('button', { name: 'Play', exact: true }).waitFor(WAIT);
    await v.keyboard.press('Alt+Slash');
    const dialog = v.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.getByText('Previous / next marker (runs, joins, leaves, pastes)').waitFor(WAIT);
    await dialog.getByText('Jump to 0 % – 90 % of the recording').waitFor(WAIT);
    await v.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  test('"Open a copy from here" forks the moment into a new room holding exactly its text', async () => {
    const v = viewer.page;
    // The paste's own moment: a millisecond earlier the text is without it.
    await v.locator('.moments .moment.kind-paste').click();
    await waitForEditorText(v, trimEnd(PHASE_A + PHASE_B + PASTE));
    await v.evaluate(() => localStorage.setItem('peercode.name', 'Viewer'));
    await v.getByRole('button', { name: 'Open a copy from here' }).click();
    await v.waitForURL((u) => /^\/r\/[^/]+$/.test(u.pathname) && u.pathname !== `/r/${ROOM}`, WAIT);
    const forked = decodeURIComponent(new URL(v.url()).pathname.slice(3));
    await waitForRoom(v);
    await waitForEditorText(v, trimEnd(PHASE_A + PHASE_B + PASTE));
    const state = await getJson(`${env.server.url}/api/rooms/${encodeURIComponent(forked)}/state`);
    assert.equal(state.files['main.py'], PHASE_A + PHASE_B + PASTE, 'the new room holds that exact text');
    assertNoConsoleErrors(viewer);
  });

  test('the room has a Replay button, and the player a way back', async () => {
    const a = ada.page;
    await a.getByRole('link', { name: 'Replay' }).click();
    await a.waitForURL(/\/replay$/);
    await a.locator('.scrub-track').waitFor(WAIT);
    await a.getByRole('link', { name: 'Back to the room' }).click();
    await a.waitForURL((u) => u.pathname === `/r/${ROOM}`);
    await waitForRoom(a);
    assertNoConsoleErrors(ada);
  });

  test('a room with nothing recorded says so; a moment that cannot be loaded says so, and Retry works', async () => {
    const empty = await openClient(env.browser, `${env.server.url}/r/never-recorded/replay`, { name: null });
    await empty.page.getByText('Nothing has been recorded in this room yet.').waitFor(WAIT);
    assertNoConsoleErrors(empty, REFUSED);
    await empty.context.close();

    const v = viewer.page;
    await v.goto(replayUrl());
    await track().waitFor(WAIT);
    await v.route('**/state?*', (route) => route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"disk on fire"}' }));
    await v.locator('body').click({ position: { x: 5, y: 300 } });
    // Far ahead is played from the events already fetched; back needs the state of the moment.
    await v.keyboard.press('Digit9');
    await v.keyboard.press('Digit2');
    const problem = v.locator('.replay-problem[role="alert"]');
    await problem.getByText(/Could not load that moment: The server answered 500: disk on fire/).waitFor(WAIT);
    await v.unroute('**/state?*');
    await problem.getByRole('button', { name: 'Retry' }).click();
    await problem.waitFor({ state: 'detached', ...WAIT });
    await waitUntil(async () => (await editorText(v)).length > 0, 'the moment after Retry');
    assertNoConsoleErrors(viewer, REFUSED);
  });

  test('light theme and a phone-size screen', async () => {
    const v = viewer.page;
    await v.getByRole('button', { name: 'Switch to light theme' }).click();
    await clickAt(v, rec.afterPaste);
    await waitForEditorText(v, trimEnd(PHASE_A + PHASE_B + PASTE));
    await screenshot(v, 'replay-1280x720-light');
    const phone = await openClient(env.browser, replayUrl(), { name: null, viewport: { width: 390, height: 844 } });
    await phone.page.locator('.scrub-track').waitFor(WAIT);
    await phone.page.locator('.editor-host .monaco-editor').waitFor(WAIT);
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `nothing cut off sideways (${overflow}px)`);
    await screenshot(phone.page, 'replay-390x844-dark');
    assertNoConsoleErrors(phone);
    for (const c of [phone, viewer, ada, grace]) await c?.context.close();
  });
});
