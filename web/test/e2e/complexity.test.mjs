// End-to-end: the complexity panel. The client's handling of the documented
// `POST /api/analyze` contract is checked with a response given by the test (so every
// branch is covered whatever the server has), then against the server's own analyser
// when it has one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, assertServesThisBuild, launchBrowser, openClient, screenshot, sleep, startServer, typeAtEnd, waitForRoom } from './harness.mjs';

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
    const c = await openClient(browser, `${server.url}/r/cx-contract`, { name: 'Ada' });
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
    assert.equal(await fn.locator('.cx-badge').textContent(), 'O(n^2)');
    const reason = fn.locator('.cx-reasons li', { hasText: 'nested loop over range(len(nums)): O(n)' });
    await reason.waitFor();
    assert.equal(await reason.locator('code').textContent(), 'range(len(nums))', 'backticked code is shown as code');
    assert.equal(await panel.locator('.cx-fn[data-function="<module>"] .cx-badge').textContent(), 'O(1)');
    // Markers in the editor: the estimate after the function's first line, a glyph per reason line.
    await page.locator('.editor-host .cx-inline', { hasText: 'O(n^2)' }).waitFor();
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

    // Several quick edits make one request, about 500 ms after the last one.
    await sleep(800);
    const before = requests.length;
    for (const ch of ['#', ' ', 'h', 'i']) {
      await page.keyboard.type(ch);
      await sleep(60);
    }
    const typedAt = Date.now();
    await sleep(1500);
    const burst = requests.slice(before);
    assert.equal(burst.length, 1, `one request for a burst of edits, got ${burst.length}`);
    assert.ok(burst[0].at - typedAt >= 350, `request waited for the edits to stop (${burst[0].at - typedAt} ms)`);
    assert.match(burst[0].body.code, /# hi$/);

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
    await panel.getByText('Complexity analysis covers Python and JavaScript. This room is in Rust.').waitFor();
    const n = requests.length;
    await page.keyboard.type('x');
    await sleep(900);
    assert.equal(requests.length, n, 'no request for an unsupported language');
    await page.getByLabel('Language').selectOption('python');
    assertNoConsoleErrors(c, [/the server responded with a status of 500/]);
    await c.context.close();
  });

  test("against the server's own analyser", async (t) => {
    const probe = await fetch(`${server.url}/api/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ language: 'python', code: 'def f(n):\n    return n\n' }),
    });
    if (!(probe.headers.get('content-type') ?? '').includes('application/json')) {
      t.skip(`this peercode has no POST /api/analyze yet (HTTP ${probe.status}, ${probe.headers.get('content-type')})`);
      return;
    }
    const c = await openClient(browser, `${server.url}/r/cx-real`, { name: 'Ada' });
    const sent = [];
    c.page.on('request', (r) => {
      if (r.url().endsWith('/api/analyze')) sent.push(JSON.parse(r.postData() ?? '{}'));
    });
    await waitForRoom(c.page);
    await typeAtEnd(c.page, 'def total(nums):\ns = 0\nfor x in nums:\ns += x\n');
    const badge = c.page.locator('.complexity-panel .cx-fn[data-function="total"] .cx-badge');
    await badge.waitFor({ timeout: 10000 });
    await sleep(1000); // let the last debounced request settle
    // The panel shows what the server says about the text the editor sent.
    const last = sent.at(-1);
    assert.ok(last, 'the page asked the analyser');
    const expected = await (
      await fetch(`${server.url}/api/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(last),
      })
    ).json();
    const fnReport = expected.functions.find((f) => f.name === 'total');
    assert.ok(fnReport, `the server found the function: ${JSON.stringify(expected)}`);
    assert.equal(await badge.textContent(), fnReport.complexity);
    await screenshot(c.page, 'complexity-real-1280x720-dark');
    assertNoConsoleErrors(c);
    await c.context.close();
  });
});
