// End-to-end: many files (issue 11.6): the tabs scroll in their strip, "+" stays in view,
// and a menu lists every file; the Run placeholder stays one collapsed bar.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, openClient, screenshot, useServerAndBrowser, waitForRoom } from './harness.mjs';

describe('many files', { timeout: 120_000 }, () => {
  const env = useServerAndBrowser();

  test('ten files: the tab strip scrolls, "+" stays on screen, a menu opens any file', async () => {
    const c = await openClient(env.browser, `${env.server.url}/r/ten-files`, { name: 'Ada' });
    const { page } = c;
    await waitForRoom(page);
    const names = Array.from({ length: 10 }, (_, i) => `module_${String(i).padStart(2, '0')}_helpers.py`);
    for (const n of names) {
      await page.getByRole('button', { name: 'New file' }).click();
      await page.getByLabel('New file name').fill(n);
      await page.getByLabel('New file name').press('Enter');
      await page.locator(`.tab[data-file="${n}"]`).waitFor();
    }
    const viewport = page.viewportSize();
    const plus = await page.getByRole('button', { name: 'New file' }).boundingBox();
    const picker = await page.getByLabel('Language').boundingBox();
    assert.ok(plus && plus.x >= 0 && plus.x + plus.width <= viewport.width, `"+" is on screen: ${JSON.stringify(plus)}`);
    assert.ok(plus.x + plus.width <= picker.x, '"+" is not under the language picker');
    const strip = await page.locator('.tabs').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    assert.ok(strip.scroll > strip.client, 'the tabs scroll in their strip');
    // The menu lists every file and opens the one picked, scrolling its tab into view.
    await page.getByRole('button', { name: '11 files' }).click();
    const menu = page.getByRole('menu', { name: 'All files' });
    assert.equal(await menu.getByRole('menuitemradio').count(), 11);
    await screenshot(page, 'tabs-menu-1280x720-dark');
    await menu.getByRole('menuitemradio', { name: 'main.py' }).click();
    await menu.waitFor({ state: 'detached' });
    await page.locator('.editor-host[data-file="main.py"]').waitFor();
    await page.getByRole('button', { name: '11 files' }).click();
    await menu.getByRole('menuitemradio', { name: names[9] }).click();
    await page.locator(`.editor-host[data-file="${names[9]}"]`).waitFor();
    const tab = await page.locator(`.tab[data-file="${names[9]}"]`).boundingBox();
    const stripBox = await page.locator('.tabs').boundingBox();
    assert.ok(tab && tab.x >= stripBox.x - 1 && tab.x + tab.width <= stripBox.x + stripBox.width + 1, 'the picked tab is scrolled into view');
    // Before the room's first run the Run panel is one bar, not 170 px of nothing.
    const run = await page.locator('.run-panel').boundingBox();
    assert.ok(run && run.height <= 48, `the Run panel is collapsed (${run?.height} px)`);
    await page.locator('.run-panel').getByRole('button', { name: /Run/ }).waitFor();
    assertNoConsoleErrors(c);
    await c.context.close();
  });
});
