// End-to-end: two people editing the same spot at the same moment (issue 11.1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, assertServesThisBuild, editorText, launchBrowser, openClient, startServer, waitForEditorText, waitForRoom } from './harness.mjs';

describe('typing together', { timeout: 120_000 }, () => {
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

  test("two people typing at the same spot at the same time: each one's characters stay together", async () => {
    const url = `${server.url}/r/same-spot`;
    const ada = await openClient(browser, url, { name: 'Ada' });
    const bob = await openClient(browser, url, { name: 'Bob' });
    await Promise.all([waitForRoom(ada.page), waitForRoom(bob.page)]);
    // Each sees the other (presence is live) before typing starts.
    for (const c of [ada, bob]) await c.page.locator('.participants .participant').nth(1).waitFor();

    /** Both put the caret at the very same place, then type 30 characters each at once. */
    const together = async (a, b) => {
      for (const c of [ada, bob]) {
        await c.page.locator('.editor-host .view-lines').click();
        await c.page.keyboard.press('Control+End');
      }
      await Promise.all([ada.page.keyboard.type(a.repeat(30), { delay: 15 }), bob.page.keyboard.type(b.repeat(30), { delay: 15 })]);
    };
    const run = (x, y) => `(?:${x}{30}${y}{30}|${y}{30}${x}{30})`;

    // In an empty file: both at offset 0.
    await together('a', 'b');
    const first = new RegExp(`^${run('a', 'b')}$`);
    await waitForEditorText(ada.page, /^[ab]{60}$/);
    await waitForEditorText(bob.page, /^[ab]{60}$/);
    const text1 = await editorText(ada.page);
    assert.equal(await editorText(bob.page), text1, 'both see the same text');
    assert.match(text1, first, `each person's characters stay together: ${text1}`);

    // At the end of a line both are on.
    await together('c', 'd');
    await waitForEditorText(ada.page, /^[ab]{60}[cd]{60}$/);
    await waitForEditorText(bob.page, /^[ab]{60}[cd]{60}$/);
    const text2 = await editorText(ada.page);
    assert.equal(await editorText(bob.page), text2, 'both see the same text');
    assert.match(text2, new RegExp(`^${run('a', 'b')}${run('c', 'd')}$`), `each person's characters stay together: ${text2}`);

    assertNoConsoleErrors(ada);
    assertNoConsoleErrors(bob);
    await ada.context.close();
    await bob.context.close();
  });
});
