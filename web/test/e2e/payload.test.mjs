// End-to-end: what it costs to open a room (issue 11.4): compressed, cacheable assets.
// The figures (bytes transferred, time to an editable room, cold and warm) are printed for
// BENCHMARKS-style reporting; what is asserted is behaviour, never a time.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoConsoleErrors, DIST, useServerAndBrowser, waitForRoom } from './harness.mjs';

describe('payload', { timeout: 120_000 }, () => {
  const env = useServerAndBrowser();

  test('the big room script goes out compressed when the client accepts it, cached for a year', async () => {
    const dir = join(DIST, 'assets');
    const [big] = readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size);
    const url = `${env.server.url}/assets/${big}`;
    const raw = statSync(join(dir, big)).size;
    for (const [accept, expected] of [['gzip', 'gzip'], ['gzip, deflate, br', 'br'], ['identity', null]]) {
      const res = await fetch(url, { headers: { 'accept-encoding': accept } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-encoding'), expected, `Accept-Encoding: ${accept}`);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('vary'), 'accept-encoding');
      assert.match(res.headers.get('content-type') ?? '', /javascript/);
      assert.equal((await res.arrayBuffer()).byteLength, raw, 'the decoded body is the asset');
    }
    // The page itself is revalidated on every load (it names the current hashed assets).
    assert.equal((await fetch(`${env.server.url}/r/x`)).headers.get('cache-control'), 'no-cache');
  });

  test('opening a room: transferred bytes and time to an editable room, cold and warm', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 720 } });
    await context.addInitScript(() => localStorage.setItem('peercode.name', 'Payload'));
    const open = async (label) => {
      const page = await context.newPage();
      const errors = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      let bytes = 0;
      let requests = 0;
      const urls = [];
      page.on('requestfinished', async (req) => {
        const res = await req.response();
        if (!res) return;
        requests++;
        urls.push(new URL(req.url()).pathname);
        const sizes = await req.sizes().catch(() => null);
        if (sizes) bytes += sizes.responseBodySize + sizes.responseHeadersSize;
      });
      const t0 = Date.now();
      await page.goto(`${env.server.url}/r/payload-room`);
      await waitForRoom(page);
      // Editable: a keystroke lands in the editor.
      await page.locator('.editor-host .view-lines').click();
      await page.keyboard.insertText('#');
      await page.locator('.editor-host .view-line', { hasText: '#' }).first().waitFor();
      const ms = Date.now() - t0;
      await page.keyboard.press('Backspace');
      console.log(`payload ${label}: ${(bytes / 1024).toFixed(0)} KiB transferred in ${requests} requests, editable after ${ms} ms`);
      assertNoConsoleErrors({ errors });
      await page.close();
      return { bytes, ms, urls };
    };
    const cold = await open('cold');
    // Monaco's languages load on demand: a Python room fetches the Python tokenizer only.
    assert.ok(cold.urls.some((u) => /\/assets\/python-[\w-]+\.js$/.test(u)), `the Python tokenizer is loaded: ${cold.urls.join(' ')}`);
    for (const other of ['rust', 'go', 'java', 'cpp']) {
      assert.ok(!cold.urls.some((u) => new RegExp(`/assets/${other}-[\\w-]+\\.js$`).test(u)), `no ${other} tokenizer for a Python room`);
    }
    const warm = await open('warm');
    assert.ok(warm.bytes < cold.bytes / 4, `a second visit comes mostly from the cache (cold ${cold.bytes} B, warm ${warm.bytes} B)`);
    await context.close();
  });
});
