// End-to-end: the complexity panel. The client's handling of the documented
// `POST /api/analyze` contract is checked with a response given by the test (so every
// branch is covered whatever the server has), then against the server's own analyser
// when it has one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyzeCalls,
  assertNoConsoleErrors,
  assertServesThisBuild,
  launchBrowser,
  openClient,
  recordAnalyzeCalls,
  screenshot,
  startServer,
  typeAtEnd,
  waitForRoom,
  waitUntil,
} from './harness.mjs';

/** The app's debounce for a small file (useAnalysis.ts, ANALYZE_DEBOUNCE_MS). */
const DEBOUNCE_MS = 500;

/**
 * A context whose timers all belong to playwright's fake clock (it runs at the normal pace
 * until a test pauses it), and whose page records each analyser request as it is made.
 */
async function withClock(context) {
  await context.clock.install();
  // Monaco measures input latency with performance.measure and reads the entry back; the
  // fake `performance` keeps no entries, so give it one to read.
  await context.addInitScript(() => {
    performance.getEntriesByName = (name) => [{ name, entryType: 'measure', startTime: 0, duration: 0 }];
  });
  await recordAnalyzeCalls(context);
}

const CODE = [
  'def two_sum(nums, target):',
  'for i in range(len(nums)):',
  'for j in range(len(nums)):',
  'if nums[i] + nums[j] == target:',
  'return [i, j]',
  'return None',
  '',
  'print(two_sum([2, 7, 11, 15], 9))',
].join('\n');

/** The example of the contract (issue 5), as the server would answer for CODE. */
const REPORT = {
  language: 'python',
  functions: [
    {
      name: 'two_sum',
      line_start: 1,
      line_end: 6,
      complexity: 'O(n^2)',
      unknown_reason: null,
      max_loop_depth: 2,
      reasons: [
        { line_start: 2, line_end: 5, text: 'loop over `range(len(nums))`: O(n)' },
        { line_start: 3, line_end: 5, text: 'nested loop over `range(len(nums))`: O(n)' },
      ],
    },
  ],
  top_level: { name: '<module>', line_start: 1, line_end: 8, complexity: 'O(1)', unknown_reason: null, max_loop_depth: 0, reasons: [] },
  parse_errors: [],
};

describe('complexity panel', { timeout: 180_000 }, () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    await assertServesThisBuild(server.url);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    server?.removeData();
  });

  test('shows per-function results and editor markers, refreshed after edits (debounced), and clear errors', async () => {
    const c = await openClient(browser, `${server.url}/r/cx-contract`, { name: 'Ada', beforeLoad: withClock });
    const { page } = c;
    const requests = [];
    let answer = { status: 200, json: REPORT };
    await page.route('**/api/analyze', async (route) => {
      requests.push({ at: Date.now(), body: JSON.parse(route.request().postData() ?? '{}') });
      await route.fulfill({ status: answer.status, json: answer.json });
    });
    await waitForRoom(page);
    await typeAtEnd(page, CODE);
    const panel = page.locator('.complexity-panel');
    const fn = panel.locator('.cx-fn[data-function="two_sum"]');
    await fn.waitFor({ timeout: 10000 });
    assert.equal(await fn.locator('.cx-badge').textContent(), 'O(n²)', 'O(n^2) is shown as people write it');
    const reason = fn.locator('.cx-reasons li', { hasText: 'nested loop over range(len(nums)): O(n)' });
    await reason.waitFor();
    assert.equal(await reason.locator('code').textContent(), 'range(len(nums))', 'backticked code is shown as code');
    assert.equal(await panel.locator('.cx-fn[data-function="<module>"] .cx-badge').textContent(), 'O(1)');
    // Markers in the editor: the estimate after the function's first line, a glyph per reason line.
    await page.locator('.editor-host .cx-inline', { hasText: 'O(n²)' }).waitFor();
    assert.equal(await page.locator('.editor-host .cx-glyph-reason').count(), 2);
    // The request carried the room's language and the whole file.
    const last = requests.at(-1);
    assert.equal(last.body.language, 'python');
    assert.match(last.body.code, /^def two_sum\(nums, target\):/);
    assert.match(last.body.code, /print\(two_sum\(\[2, 7, 11, 15\], 9\)\)$/);
    await screenshot(page, 'complexity-1280x720-dark');
    // A reason's line number jumps there in the editor.
    await reason.getByRole('button', { name: 'L3' }).click();
    await page.locator('.editor-host .line-numbers.active-line-number', { hasText: /^3$/ }).waitFor({ timeout: 5000 });
    await typeAtEnd(page, '');

    // Several quick edits make one request, DEBOUNCE_MS after the last one, carrying the
    // final text. The page's clock is paused while typing, so the gaps between keys and the
    // moment the timer fires are exact: nothing here races the machine's speed.
    const whole = await waitUntil(async () => {
      const code = (await analyzeCalls(page)).at(-1)?.code;
      return /print\(two_sum\(\[2, 7, 11, 15\], 9\)\)$/.test(code ?? '') && code;
    }, 'the request for the whole text');
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
    const before = (await analyzeCalls(page)).length;
    for (const [i, ch] of ['#', ' ', 'h', 'i'].entries()) {
      if (i > 0) await page.clock.runFor(100); // a gap well inside the debounce
      await page.keyboard.type(ch);
    }
    assert.equal((await analyzeCalls(page)).length, before, 'no request while typing goes on');
    await page.clock.runFor(DEBOUNCE_MS - 1);
    assert.equal((await analyzeCalls(page)).length, before, 'no request before the debounce is over');
    await page.clock.runFor(1);
    let burst = (await analyzeCalls(page)).slice(before);
    assert.equal(burst.length, 1, `one request when the debounce ends, got ${burst.length}`);
    assert.equal(burst[0].code, `${whole}# hi`, 'the request carries the final text');
    await page.clock.runFor(10 * DEBOUNCE_MS);
    burst = (await analyzeCalls(page)).slice(before);
    assert.equal(burst.length, 1, `still one request for the burst, got ${burst.length}`);
    await page.clock.resume();
    await waitUntil(() => requests.some((r) => r.body.code === `${whole}# hi`), 'the request to reach the server side');

    // A failing analyser is said so, and "Try again" asks again.
    answer = { status: 500, json: { error: 'analyser crashed' } };
    await page.keyboard.type('!');
    await panel.getByRole('alert').getByText('The analyser failed (HTTP 500): analyser crashed').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('.editor-host .cx-glyph-reason').count(), 0, 'stale markers are removed');
    answer = { status: 200, json: REPORT };
    await panel.getByRole('button', { name: 'Try again' }).click();
    await fn.waitFor({ timeout: 5000 });

    // A language the analyser does not cover: a message, and no request.
    await page.getByLabel('Language').selectOption('rust');
    await page.getByRole('dialog', { name: 'Make main.py a Rust file?' }).getByRole('button', { name: 'Rename to main.rs' }).click();
    await panel.getByText('Complexity analysis covers Python and JavaScript. This file is in Rust.').waitFor();
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
    const n = (await analyzeCalls(page)).length;
    await typeAtEnd(page, 'x');
    await page.clock.runFor(10 * DEBOUNCE_MS);
    assert.equal((await analyzeCalls(page)).length, n, 'no request for an unsupported language');
    await page.clock.resume();
    await page.getByLabel('Language').selectOption('python');
    await page.getByRole('dialog', { name: 'Make main.rs a Python file?' }).getByRole('button', { name: 'Rename to main.py' }).click();
    await page.locator('.tab[data-file="main.py"]').waitFor();
    assertNoConsoleErrors(c, [/the server responded with a status of 500/]);
    await c.context.close();
  });

  test("against the server's own analyser", async () => {
    // The route is part of the server (SPEC §2): anything but a JSON report is a failure.
    const probe = await fetch(`${server.url}/api/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ language: 'python', code: 'def f(n):\n    return n\n' }),
    });
    assert.equal(probe.status, 200, 'POST /api/analyze answers');
    assert.match(probe.headers.get('content-type') ?? '', /application\/json/, 'POST /api/analyze answers JSON');
    assert.ok(Array.isArray((await probe.json()).functions), 'the answer is a complexity report');
    const c = await openClient(browser, `${server.url}/r/cx-real`, { name: 'Ada', beforeLoad: recordAnalyzeCalls });
    await waitForRoom(c.page);
    const typed = 'def total(nums):\ns = 0\nfor x in nums:\ns += x\n';
    await typeAtEnd(c.page, typed);
    const badge = c.page.locator('.complexity-panel .cx-fn[data-function="total"] .cx-badge');
    await badge.waitFor({ timeout: 10000 });
    // The panel shows what the server says about the text the editor sent last (the whole text).
    await waitUntil(async () => /s \+= x\n\s*$/.test((await analyzeCalls(c.page)).at(-1)?.code ?? ''), 'a request with the whole text');
    await c.page.locator('.complexity-panel[data-state="ready"]').waitFor();
    const last = (await analyzeCalls(c.page)).at(-1);
    const expected = await (
      await fetch(`${server.url}/api/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(last),
      })
    ).json();
    const fnReport = expected.functions.find((f) => f.name === 'total');
    assert.ok(fnReport, `the server found the function: ${JSON.stringify(expected)}`);
    assert.equal(await badge.getAttribute("title"), `Estimated time complexity: ${fnReport.complexity}`);
    await screenshot(c.page, 'complexity-real-1280x720-dark');
    assertNoConsoleErrors(c);
    await c.context.close();
  });
});
