// End-to-end: network trouble (issue 11.3) and one person in several tabs (11.6).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, assertServesThisBuild, launchBrowser, openClient, screenshot, startServer, waitForRoom } from './harness.mjs';

/** Chromium logs each failed request while the server is down; that is expected there. */
const DOWN = [/WebSocket connection to .* failed/, /Failed to load resource: net::ERR_CONNECTION_REFUSED/];

describe('network trouble', { timeout: 180_000 }, () => {
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

  /** Stops the server; the returned function starts it again on the same address. */
  let down = null;
  const restart = async () => {
    const { listen, dataDir } = server;
    await server.stop();
    down = async () => {
      down = null;
      server = await startServer({ dataDir, listen });
    };
    return () => down?.();
  };
  // A test that failed half-way must not leave the server down for the next one.
  afterEach(async () => {
    await down?.();
  });

  test('Create while the server is unreachable: a clear message and Reload, which works once it is back', async () => {
    const c = await openClient(browser, `${server.url}/`, { name: 'Ada' });
    const { page } = c;
    await page.getByRole('button', { name: 'Create a room' }).waitFor();
    const bringBack = await restart();
    await page.getByRole('button', { name: 'Create a room' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Could not load the app' });
    await alert.waitFor({ timeout: 15000 });
    await alert.getByText(/server is unreachable/).waitFor();
    await screenshot(page, 'chunk-error-1280x720-dark');
    await bringBack();
    await alert.getByRole('button', { name: 'Reload' }).click();
    await waitForRoom(page);
    const uncaught = c.errors.filter((e) => e.startsWith('uncaught'));
    assert.deepEqual(uncaught, [], 'nothing uncaught');
    assertNoConsoleErrors(c, DOWN);
    await c.context.close();
  });

  test('server down: a banner, and the people stay listed as reconnecting; all live again after', async () => {
    const url = `${server.url}/r/net-banner`;
    const ada = await openClient(browser, url, { name: 'Ada' });
    const bob = await openClient(browser, url, { name: 'Bob' });
    await Promise.all([waitForRoom(ada.page), waitForRoom(bob.page)]);
    const people = ada.page.locator('.participants .participant');
    await people.filter({ hasText: 'Bob' }).waitFor();
    assert.equal(await ada.page.locator('.connection-banner').count(), 0, 'no banner while connected');

    const bringBack = await restart();
    const banner = ada.page.locator('.connection-banner[role="alert"]');
    await banner.waitFor({ timeout: 10000 });
    await banner.getByText(/reconnecting|offline/i).first().waitFor();
    // Bob is still listed, marked as last seen; the list did not empty.
    await people.filter({ hasText: 'Bob' }).and(ada.page.locator('[data-state="reconnecting"]')).waitFor({ timeout: 10000 });
    assert.deepEqual((await ada.page.locator('.participants .participant-name').allTextContents()).sort(), ['Ada', 'Bob']);
    await ada.page.locator('.participants-panel', { hasText: 'reconnecting' }).waitFor();
    await screenshot(ada.page, 'room-reconnecting-1280x720-dark');

    await bringBack();
    await ada.page.locator('[data-status="connected"]').waitFor({ timeout: 20000 });
    await banner.waitFor({ state: 'detached', timeout: 10000 });
    await people.filter({ hasText: 'Bob' }).and(ada.page.locator('[data-state="live"]')).waitFor({ timeout: 15000 });
    assertNoConsoleErrors(ada, DOWN);
    assertNoConsoleErrors(bob, DOWN);
    await ada.context.close();
    await bob.context.close();
  });

  test('the same person in two tabs is listed once, with a count', async () => {
    const url = `${server.url}/r/two-tabs`;
    const ada = await openClient(browser, url, { name: 'Ada' });
    const second = await ada.context.newPage();
    await second.goto(url);
    const bob = await openClient(browser, url, { name: 'Bob' });
    await Promise.all([waitForRoom(ada.page), waitForRoom(second), waitForRoom(bob.page)]);
    const names = bob.page.locator('.participants .participant-name');
    const ada2 = bob.page.locator('.participants .participant', { hasText: 'Ada' });
    await ada2.locator('.participant-tabs', { hasText: '×2' }).waitFor({ timeout: 10000 });
    assert.deepEqual((await names.allTextContents()).sort(), ['Ada', 'Bob']);
    // Ada's own tabs show her once too.
    await ada.page.locator('.participants .participant[data-self]', { hasText: 'Ada' }).locator('.participant-tabs', { hasText: '×2' }).waitFor();
    assert.equal(await ada.page.locator('.participants .participant').count(), 2);
    await second.close();
    await ada2.locator('.participant-tabs').waitFor({ state: 'detached', timeout: 15000 });
    assertNoConsoleErrors(ada);
    assertNoConsoleErrors(bob);
    await ada.context.close();
    await bob.context.close();
  });
});
