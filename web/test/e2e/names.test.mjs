// End-to-end: the app and the server agree on which room names exist (issue 11.6): each
// name is tried both ways, by the app (joining from the lobby) and by the server (a real
// WebSocket handshake on /ws/{name}).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, openClient, useServerAndBrowser, waitForRoom } from './harness.mjs';

const NAMES = [
  ['k7p-m2xq-9rd', true],
  ['team.interview-2', true],
  ['a'.repeat(65), true],
  ['b'.repeat(128), true],
  ['c'.repeat(129), false],
  ['.hidden', false],
  ['has space', false],
  ['ümlaut', false],
];

describe('room names', { timeout: 120_000 }, () => {
  const env = useServerAndBrowser();

  test('the app accepts exactly the room names the server accepts', async () => {
    const c = await openClient(env.browser, `${env.server.url}/`, { name: 'Ada' });
    const { page } = c;
    for (const [name, expected] of NAMES) {
      const serverSays = await page.evaluate(
        (url) =>
          new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => (ws.close(), resolve(true));
            ws.onerror = () => resolve(false);
          }),
        `${env.server.url.replace(/^http/, 'ws')}/ws/${encodeURIComponent(name)}`,
      );
      assert.equal(serverSays, expected, `the server on ${JSON.stringify(name)}`);
      await page.goto(`${env.server.url}/`);
      await page.getByLabel('Invite link or room id').fill(name);
      await page.getByRole('button', { name: 'Join' }).click();
      if (expected) {
        await page.waitForURL((u) => u.pathname === `/r/${encodeURIComponent(name)}`);
        await waitForRoom(page);
        assert.equal(await page.locator('.room-id').textContent(), name);
      } else {
        await page.locator('.field-error').waitFor();
        assert.equal(new URL(page.url()).pathname, '/');
      }
    }
    // The server refusing a handshake is logged by Chromium; nothing else is.
    assertNoConsoleErrors(c, [/WebSocket connection to .* failed/]);
    await c.context.close();
  });
});
