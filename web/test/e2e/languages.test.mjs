// End-to-end: languages per file (issue 11.5). Highlighting and analysis follow each file's
// extension; the room's language picker offers to rename an empty entry file and fill it;
// parse errors are one clear message with the line.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeCalls, assertNoConsoleErrors, editorText, openClient, recordAnalyzeCalls, screenshot, typeAtEnd, useServerAndBrowser, waitForRoom, waitUntil } from './harness.mjs';

describe('languages per file', { timeout: 180_000 }, () => {
  const env = useServerAndBrowser();

  test('each file is highlighted and analysed in the language of its extension', async () => {
    const c = await openClient(env.browser, `${env.server.url}/r/lang-files`, { name: 'Ada', beforeLoad: recordAnalyzeCalls });
    const { page } = c;
    await waitForRoom(page);
    await typeAtEnd(page, 'def f(n):\nreturn n\n');
    await page.locator('.editor-host[data-file="main.py"][data-language="python"]').waitFor();
    await page.getByRole('button', { name: 'New file' }).click();
    await page.getByLabel('New file name').fill('util.js');
    await page.getByLabel('New file name').press('Enter');
    await page.locator('.editor-host[data-file="util.js"][data-language="javascript"]').waitFor();
    await typeAtEnd(page, 'function g(a) { return a.length; }\n');
    await waitUntil(async () => (await analyzeCalls(page)).some((r) => r.language === 'javascript' && /function g/.test(r.code)), 'a JavaScript request for util.js');
    await page.locator('.complexity-panel .cx-fn[data-function="g"]').waitFor({ timeout: 10000 });
    // The room's language did not change, and main.py is still Python.
    assert.equal(await page.getByLabel('Language').inputValue(), 'python');
    await page.locator('.tab[data-file="main.py"] .tab-label').click();
    await page.locator('.editor-host[data-file="main.py"][data-language="python"]').waitFor();
    assert.ok((await analyzeCalls(page)).filter((r) => /def f/.test(r.code)).every((r) => r.language === 'python'));
    // A file in a language the analyser does not cover says so, naming the file's language.
    await page.getByRole('button', { name: 'New file' }).click();
    await page.getByLabel('New file name').fill('lib.rs');
    await page.getByLabel('New file name').press('Enter');
    await page.locator('.editor-host[data-file="lib.rs"][data-language="rust"]').waitFor();
    await page.locator('.complexity-panel').getByText('This file is in Rust.').waitFor();
    assertNoConsoleErrors(c);
    await c.context.close();
  });

  test('the language picker offers to rename the empty entry file and insert starter code; others see it', async () => {
    const url = `${env.server.url}/r/lang-picker`;
    const ada = await openClient(env.browser, url, { name: 'Ada' });
    const bob = await openClient(env.browser, url, { name: 'Bob' });
    await Promise.all([waitForRoom(ada.page), waitForRoom(bob.page)]);
    await ada.page.getByLabel('Language').selectOption('go');
    const dialog = ada.page.getByRole('dialog', { name: 'Make main.py a Go file?' });
    await dialog.getByRole('button', { name: 'Rename to main.go and insert starter code' }).click();
    for (const p of [ada.page, bob.page]) {
      await p.locator('.tab[data-file="main.go"]').waitFor({ timeout: 10000 });
      await p.locator('.editor-host[data-file="main.go"][data-language="go"]').waitFor({ timeout: 10000 });
      await waitUntil(async () => /^package main/.test(await editorText(p)), 'the Go starter code');
      assert.equal(await p.getByLabel('Language').inputValue(), 'go');
    }
    assert.deepEqual(await bob.page.locator('.tab').allTextContents(), ['main.go']);
    await screenshot(ada.page, 'language-go-1280x720-dark');
    // Switching again with code in the file: renaming is offered, the code is never replaced.
    await ada.page.getByLabel('Language').selectOption('rust');
    const again = ada.page.getByRole('dialog', { name: 'Make main.go a Rust file?' });
    assert.equal(await again.getByRole('button', { name: /starter/ }).count(), 0, 'no starter code over existing code');
    await again.getByRole('button', { name: 'Keep main.go' }).click();
    await waitUntil(async () => (await bob.page.getByLabel('Language').inputValue()) === 'rust', 'the room language reaching Bob');
    assert.equal(await bob.page.locator('.editor-host').getAttribute('data-language'), 'go', 'main.go stays Go');
    assertNoConsoleErrors(ada);
    assertNoConsoleErrors(bob);
    await ada.context.close();
    await bob.context.close();
  });

  test('parse errors are one message with the line, not a list', async () => {
    const c = await openClient(env.browser, `${env.server.url}/r/lang-parse`, { name: 'Ada' });
    const { page } = c;
    await waitForRoom(page);
    // Broken on line 2; the cascade after it used to be a dozen bare "syntax error" lines.
    await page.locator('.editor-host .view-lines').click();
    await page.evaluate((t) => navigator.clipboard?.writeText?.(t).catch(() => {}), '');
    await typeAtEnd(page, 'def ok(n):\nreturn n\n');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.insertText('def broken(:\n');
    await page.keyboard.insertText('x = (1, 2\ny = [3\nz = {4: \n');
    const message = page.locator('.complexity-panel .cx-parse-error');
    await message.waitFor({ timeout: 15000 });
    assert.equal(await message.count(), 1);
    assert.match(await message.textContent(), /^Line \d+ The code does not parse at line \d+( \(and \d+ more places?\))?: the estimates below may be incomplete\.$/);
    assert.ok(await page.locator('.editor-host .cx-glyph-error').count() <= 1, 'at most one error marker in the editor');
    await screenshot(page, 'parse-error-1280x720-dark');
    assertNoConsoleErrors(c);
    await c.context.close();
  });
});
