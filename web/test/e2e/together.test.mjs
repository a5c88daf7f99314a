// End-to-end: two people editing the same spot at the same moment (issue 11.1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, editorText, openClient, screenshot, useServerAndBrowser, waitForEditorText, waitForRoom } from './harness.mjs';

describe('typing together', { timeout: 120_000 }, () => {
  const env = useServerAndBrowser();

  test("two people typing at the same spot at the same time: each one's characters stay together", async () => {
    const url = `${env.server.url}/r/same-spot`;
    const ada = await openClient(env.browser, url, { name: 'Ada' });
    const bob = await openClient(env.browser, url, { name: 'Bob' });
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

  test('cursor labels: shown while their owner moves, a small flag after, the full name on hover', async () => {
    const url = `${env.server.url}/r/labels`;
    const long = 'Bartholomew Longname-Smythe';
    const ada = await openClient(env.browser, url, { name: 'Ada' });
    const bob = await openClient(env.browser, url, { name: long });
    await Promise.all([waitForRoom(ada.page), waitForRoom(bob.page)]);
    await bob.page.locator('.editor-host .view-lines').click();
    await bob.page.keyboard.insertText('line one\nline two\nline three');
    const label = ada.page.locator('.remote-cursor-label', { hasText: 'Bartholomew' });
    await label.and(ada.page.locator('[data-state="active"]')).waitFor({ timeout: 10000 });
    assert.equal(await label.textContent(), 'Bartholomew Lon…', 'a long name is cut while shown');
    assert.equal(await label.getAttribute('title'), long, 'the full name is the tooltip');
    // Bob stops: the label shrinks to a flag that leaves the line above readable.
    await label.and(ada.page.locator('[data-state="idle"]')).waitFor({ timeout: 10000 });
    const flag = await label.boundingBox();
    const lineHeight = await ada.page.evaluate(() => document.querySelector('.editor-host .view-line')?.getBoundingClientRect().height ?? 0);
    assert.ok(flag && flag.height <= lineHeight / 3, `the idle flag is small (${flag?.height} px against ${lineHeight} px lines)`);
    await label.hover();
    // The label grows over a short transition: wait for it rather than measure mid-way.
    const grown = ada.page.waitForFunction(([el, h]) => el.getBoundingClientRect().height > h, [await label.elementHandle(), flag.height], { timeout: 5000 });
    await grown.catch(() => {});
    const shown = await label.evaluate((el) => ({ after: getComputedStyle(el, '::after').content, height: el.getBoundingClientRect().height }));
    assert.equal(shown.after, JSON.stringify(long), 'hovering shows the full name');
    assert.ok(shown.height > flag.height);
    // Moving again shows it again.
    await ada.page.mouse.move(0, 0);
    await bob.page.keyboard.press('ArrowLeft');
    await label.and(ada.page.locator('[data-state="active"]')).waitFor({ timeout: 10000 });
    await screenshot(ada.page, 'cursor-label-1280x720-dark');
    assertNoConsoleErrors(ada);
    assertNoConsoleErrors(bob);
    await ada.context.close();
    await bob.context.close();
  });
});
