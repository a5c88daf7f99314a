// End-to-end: the Run panel against the real `peercode serve` and its sandbox (runs need a
// host that can sandbox; the server says why when it cannot). Two people in one room.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoConsoleErrors,
  assertServesThisBuild,
  launchBrowser,
  openClient,
  screenshot,
  startServer,
  waitForEditorText,
  waitForRoom,
} from './harness.mjs';

/** Refused and failed requests are logged by Chromium as resource errors: those are the point here. */
const REFUSED = [/Failed to load resource/];
const ROOM = 'runs-e2e';
const WAIT = { timeout: 20000 };

/** Replaces the open file's text (select all, then type it as one input: no auto-indent). */
async function setCode(page, code) {
  await page.locator('.editor-host .view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(code);
}

const panel = (page) => page.locator('.run-panel');
const runButton = (page) => panel(page).locator('.run-button');
const verdict = (page) => panel(page).locator('.run-summary .run-verdict');
const stdout = (page) => panel(page).locator('.run-stdout .run-text');
const stderr = (page) => panel(page).locator('.run-stderr .run-text');

/** Waits until the panel shows a run with this verdict (data-verdict), and returns its output. */
async function waitForVerdict(page, v) {
  await panel(page).locator(`.run-summary .run-verdict[data-verdict="${v}"]`).waitFor(WAIT);
  return { out: (await stdout(page).textContent()) ?? '', err: (await stderr(page).textContent()) ?? '' };
}

/** Starts a run with `start()` and waits until `page` shows that new run finished. */
async function runToEnd(page, start) {
  const result = panel(page).locator('.run-result');
  const before = (await result.count()) > 0 ? await result.getAttribute('data-run') : null;
  await start();
  if (before !== null) await panel(page).locator(`.run-result:not([data-run="${before}"])`).waitFor(WAIT);
  await panel(page).locator('.run-summary .run-verdict:not([data-verdict="running"])').waitFor(WAIT);
}

describe('the Run panel in the browser', { timeout: 240_000 }, () => {
  let server;
  let browser;
  let ada;
  let grace;
  let roomUrl;

  before(async () => {
    server = await startServer();
    await assertServesThisBuild(server.url);
    browser = await launchBrowser();
    roomUrl = `${server.url}/r/${ROOM}`;
    ada = await openClient(browser, roomUrl, { name: 'Ada Lovelace' });
    grace = await openClient(browser, roomUrl, { name: 'Grace Hopper' });
    await waitForRoom(ada.page);
    await waitForRoom(grace.page);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    server?.removeData();
  });

  /** Ada writes the code; once Grace sees it, the server's copy (what runs) has it too. */
  async function write(code) {
    await setCode(ada.page, code);
    await waitForEditorText(grace.page, code);
  }

  test('one bar until the room has a run', async () => {
    for (const { page } of [ada, grace]) {
      await panel(page).waitFor();
      assert.equal(await panel(page).getAttribute('data-expanded'), 'false');
      const box = await panel(page).boundingBox();
      assert.ok(box && box.height <= 48, `the idle panel is one bar: ${JSON.stringify(box)}`);
      assert.equal(await runButton(page).textContent(), '▶ Run');
      assert.equal(await runButton(page).isEnabled(), true);
    }
    await screenshot(ada.page, 'run-panel-compact-1280x720-dark');
  });

  test('Run clicked in one browser shows the output and verdict in both', async () => {
    await write('print("hi from run")');
    await runButton(ada.page).click();
    for (const { page } of [ada, grace]) {
      const { out } = await waitForVerdict(page, 'ok');
      assert.equal(out.trim(), 'hi from run');
      await stdout(page).filter({ hasText: 'hi from run' }).waitFor();
      assert.equal(await panel(page).getAttribute('data-expanded'), 'true');
      assert.match((await panel(page).locator('.run-usage').textContent()) ?? '', /^CPU \d+ ms · wall \d+ ms · [\d.]+ (KiB|MiB)$/);
      assert.match((await panel(page).locator('.run-by').textContent()) ?? '', /^by Ada Lovelace · /);
      assert.equal(await panel(page).locator('.run-stderr').isHidden(), true, 'no stderr, no stderr section');
    }
    await screenshot(grace.page, 'run-panel-ok-1280x720-dark');
  });

  test('a run someone else started: the button is Stop for them, and Stop cancels it for everyone', async () => {
    const slow = 'import time\nprint("start", flush=True)\ntime.sleep(20)';
    await write(slow);
    // Ctrl+Enter in the editor runs (and types no newline).
    await ada.page.locator('.editor-host .view-lines').click();
    await ada.page.keyboard.press('Control+Enter');
    const g = grace.page;
    await runButton(g).filter({ hasText: 'Stop' }).waitFor(WAIT);
    await panel(g).locator('.run-live', { hasText: 'Ada Lovelace is running' }).waitFor();
    await verdict(g).filter({ hasText: 'Running…' }).waitFor();
    await stdout(g).filter({ hasText: 'start' }).waitFor(WAIT);
    await runButton(ada.page).filter({ hasText: 'Stop' }).waitFor(WAIT);
    await waitForEditorText(ada.page, slow);
    await screenshot(g, 'run-panel-running-1280x720-dark');
    await runButton(g).click();
    for (const { page } of [ada, grace]) {
      const { out } = await waitForVerdict(page, 'cancelled');
      assert.equal(out.trim(), 'start');
      await runButton(page).filter({ hasText: 'Run' }).waitFor(WAIT);
    }
  });

  test('stderr is shown apart from stdout, with the exit code', async () => {
    await write('import sys\nprint("to stdout")\nprint("to stderr", file=sys.stderr)\nsys.exit(3)');
    await runButton(grace.page).click();
    for (const { page } of [ada, grace]) {
      const { out, err } = await waitForVerdict(page, 'runtime_error');
      assert.equal(out.trim(), 'to stdout');
      assert.equal(err.trim(), 'to stderr');
      assert.equal(await panel(page).locator('.run-exit').textContent(), 'exit 3');
      assert.match((await panel(page).locator('.run-by').textContent()) ?? '', /^by Grace Hopper/);
      const [outColor, errColor] = await Promise.all([stdout(page), stderr(page)].map((l) => l.evaluate((el) => getComputedStyle(el).color)));
      assert.notEqual(outColor, errColor, 'stderr has a colour of its own');
    }
    await screenshot(ada.page, 'run-panel-stderr-1280x720-dark');
  });

  test('stdin reaches the program', async () => {
    await write('print(input()[::-1])');
    const a = ada.page;
    await panel(a).getByRole('button', { name: /stdin/ }).click();
    await a.getByLabel('Program input (stdin)').fill('abc');
    await runButton(a).click();
    for (const { page } of [ada, grace]) {
      await stdout(page).filter({ hasText: 'cba' }).waitFor(WAIT);
      await waitForVerdict(page, 'ok');
    }
  });

  test('the history lists earlier runs, newest first; clicking one shows its output', async () => {
    const a = ada.page;
    const items = panel(a).locator('.run-history-item');
    await items.nth(3).waitFor();
    const verdicts = await items.evaluateAll((els) => els.map((el) => el.getAttribute('data-verdict')));
    assert.deepEqual(verdicts, ['ok', 'runtime_error', 'cancelled', 'ok']);
    await items.nth(3).click();
    await stdout(a).filter({ hasText: 'hi from run' }).waitFor();
    assert.equal(await verdict(a).getAttribute('data-verdict'), 'ok');
    assert.equal(await items.nth(3).getAttribute('aria-current'), 'true');
    // Grace's view is her own: she still sees the newest run.
    await stdout(grace.page).filter({ hasText: 'cba' }).waitFor();
    await screenshot(a, 'run-panel-history-1280x720-dark');
    await items.nth(2).click();
    await stdout(a).filter({ hasText: 'start' }).waitFor();
  });

  test('a flood of output is capped by the server and drawn in part until asked for all', async () => {
    await write('import sys\nline = "x" * 99 + "\\n"\nfor i in range(12000):\n    sys.stdout.write(line)');
    const a = ada.page;
    await runToEnd(a, () => runButton(grace.page).click());
    assert.equal(await verdict(a).getAttribute('data-verdict'), 'output_limit');
    const cut = panel(a).locator('.run-stdout .run-cut');
    await cut.filter({ hasText: /^Showing the first 256 KiB of 1\.0 MiB\./ }).waitFor();
    assert.equal(((await stdout(a).textContent()) ?? '').length, 256 * 1024);
    const started = Date.now();
    await cut.getByRole('button', { name: 'Show all' }).click();
    await cut.waitFor({ state: 'detached' });
    const all = (await stdout(a).textContent()) ?? '';
    assert.ok(Date.now() - started < 5000, 'drawing 1 MiB takes a moment, not seconds');
    assert.ok(all.endsWith('[output truncated at 1 MiB]\n'), `ends with the marker: ${JSON.stringify(all.slice(-60))}`);
    assert.equal(all.length, (1 << 20) + '\n[output truncated at 1 MiB]\n'.length);
    // Grace's view stays capped.
    assert.equal(((await stdout(grace.page).textContent()) ?? '').length, 256 * 1024);
  });

  test('phone-size screen: the expanded panel fits', async () => {
    const phone = await openClient(browser, roomUrl, { name: 'Phone', viewport: { width: 390, height: 844 } });
    const p = phone.page;
    await waitForRoom(p);
    await panel(p).locator('.run-history-item').first().waitFor(WAIT);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    for (const sel of ['.run-panel', '.run-button', '.run-result', '.run-history']) {
      const box = await p.locator(sel).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 391, `${sel} fits: ${JSON.stringify(box)}`);
    }
    await panel(p).scrollIntoViewIfNeeded();
    await screenshot(p, 'run-panel-390x844-dark');
    assertNoConsoleErrors(phone);
    await phone.context.close();
  });

  test('refusals and network failures are shown in the panel', async () => {
    const a = ada.page;
    const error = panel(a).locator('.run-error');
    const runs = `**/api/rooms/${ROOM}/runs`;

    // 503 as the server words it when its queue is full.
    await a.route(runs, (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'the sandbox is busy: 4 runs in progress and 16 queued; try again in a moment' }),
      }),
    );
    await runButton(a).click();
    await error.filter({ hasText: 'The sandbox is busy: 4 runs in progress and 16 queued; try again in a moment.' }).waitFor();
    await a.unroute(runs);

    // The server cannot be reached.
    await a.route(runs, (route) => route.abort('connectionrefused'));
    await runButton(a).click();
    await error.filter({ hasText: 'Could not reach the server' }).waitFor();
    await a.unroute(runs);

    // 409 from the real server: someone started a run a moment before our click got there.
    await write('import time\ntime.sleep(20)');
    let otherRun;
    await a.route(runs, async (route) => {
      const res = await fetch(`${server.url}/api/rooms/${ROOM}/runs`, { method: 'POST', body: '{"name":"curl"}' });
      otherRun = (await res.json()).id;
      await route.continue();
    });
    await runButton(a).click();
    await error.filter({ hasText: 'A run is already going in this room' }).waitFor(WAIT);
    await a.unroute(runs);
    await runButton(a).filter({ hasText: 'Stop' }).waitFor(WAIT);
    assert.equal((await fetch(`${server.url}/api/rooms/${ROOM}/runs/${otherRun}/stop`, { method: 'POST' })).status, 200);
    await waitForVerdict(a, 'cancelled');

    // 413 from the real server: stdin over 1 MiB.
    await a.getByLabel('Program input (stdin)').fill('x'.repeat((1 << 20) + 1));
    await runButton(a).filter({ hasText: 'Run' }).click();
    await error.filter({ hasText: 'The input is too large' }).waitFor(WAIT);
    await screenshot(a, 'run-panel-error-1280x720-dark');
    await error.getByRole('button', { name: 'Dismiss' }).click();
    await error.waitFor({ state: 'detached' });

    assertNoConsoleErrors(ada, REFUSED);
    assertNoConsoleErrors(grace);
  });

  test(
    'multi-file Python: main.py imports a function from another file of the room',
    async () => {
      const a = ada.page;
      await a.getByLabel('Program input (stdin)').fill('');
      await a.getByRole('button', { name: 'New file' }).click();
      await a.getByLabel('New file name').fill('helper.py');
      await a.getByLabel('New file name').press('Enter');
      await a.locator('.tab.active[data-file="helper.py"]').waitFor();
      await setCode(a, 'def greet():\n    return "hi from helper"');
      await a.locator('.tab[data-file="main.py"] .tab-label').click();
      await write('from helper import greet\nprint(greet())');
      await runToEnd(a, () => runButton(a).click());
      const out = (await stdout(a).textContent()) ?? '';
      const err = (await stderr(a).textContent()) ?? '';
      assert.equal(await verdict(a).getAttribute('data-verdict'), 'ok', `stderr: ${err}`);
      assert.equal(out.trim(), 'hi from helper');
    },
  );
});
