// Test harness for the browser tests: starts the real `peercode serve` ($PEERCODE_BIN) on a
// free port with a fresh data dir, drives Debian's Chromium through playwright-core, collects
// console errors, and keeps screenshots in web/test-artifacts/.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');
export const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts `peercode serve`; `listen` reuses an address (for restart tests). */
export async function startServer({ dataDir, listen = '127.0.0.1:0' } = {}) {
  const bin = process.env.PEERCODE_BIN;
  assert.ok(bin, 'PEERCODE_BIN must name the peercode binary to test against');
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'peercode-e2e-'));
  const child = spawn(bin, ['serve', '--listen', listen, '--data-dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`peercode did not start in 15 s:\n${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`peercode exited with ${code} before listening:\n${stderr}`));
    });
  });
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/healthz never answered 200:\n${stderr}`);
    await sleep(100);
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url,
    listen: url.replace(/^http:\/\//, ''),
    dataDir: dir,
    logs: () => stderr,
    /** Graceful stop (SIGTERM), waiting for the process to end; its log is kept with the screenshots. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10000).then(() => child.kill('SIGKILL'))]);
      mkdirSync(ARTIFACTS, { recursive: true });
      appendFileSync(join(ARTIFACTS, 'peercode-server.log'), `--- peercode serve on ${url}\n${stderr}\n`);
    },
    removeData() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The server must serve the app that was just built: a debug binary reads web/dist from
 * disk, a release binary embeds whatever web/dist held when it was compiled.
 */
/**
 * Registers the suite's before/after hooks: a fresh server serving this build, and a
 * browser. The returned object's `server` and `browser` are set once `before` has run.
 */
export function useServerAndBrowser(options) {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await startServer(options);
    await assertServesThisBuild(env.server.url);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
    env.server?.removeData();
  });
  return env;
}

export async function assertServesThisBuild(url) {
  const built = readFileSync(join(DIST, 'index.html'), 'utf8');
  const served = await (await fetch(`${url}/`)).text();
  assert.ok(
    served === built,
    `${url}/ is not the web/dist/index.html just built: build the app (npm run build) before ` +
      `building the peercode binary (a release binary embeds web/dist at compile time). It served: ${served.slice(0, 200)}`,
  );
  // A client-side route gets the app too (SPA fallback), and the assets it names are there.
  assert.equal(await (await fetch(`${url}/r/some-room`)).text(), built);
  for (const [, asset] of built.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
    const res = await fetch(`${url}${asset}`);
    assert.equal(res.status, 200, `${asset} is served`);
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/**
 * A person in a browser context of their own. `name` is remembered in localStorage before
 * the page loads (as if they had picked it earlier), unless `name` is null.
 */
export async function openClient(
  browser,
  url,
  { name = null, viewport = { width: 1280, height: 720 }, theme = 'dark', permissions = [], beforeLoad = null } = {},
) {
  const context = await browser.newContext({ viewport, permissions });
  // E.g. installing playwright's fake clock, which must own every timer from the start.
  if (beforeLoad) await beforeLoad(context);
  await context.addInitScript(
    ([n, t]) => {
      if (sessionStorage.getItem('peercode.test.init')) return;
      sessionStorage.setItem('peercode.test.init', '1');
      if (n !== null) localStorage.setItem('peercode.name', n);
      if (t !== null) localStorage.setItem('peercode.theme', t);
    },
    [name, theme],
  );
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  await page.goto(url);
  return { context, page, errors };
}

/** Fails when the page logged an error, except the ones matching `expected`. */
export function assertNoConsoleErrors(client, expected = []) {
  const unexpected = client.errors.filter((e) => !expected.some((re) => re.test(e)));
  assert.deepEqual(unexpected, [], `console errors:\n${unexpected.join('\n')}`);
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/**
 * The editor's text as shown on screen (Monaco renders lines as positioned divs), without
 * the complexity estimates drawn after a function's first line (they are not text).
 */
export async function editorText(page) {
  return page.evaluate(() => {
    const lines = Array.from(document.querySelectorAll('.editor-host .view-lines .view-line'));
    const textOf = (el) => {
      let t = el.textContent ?? '';
      for (const c of el.querySelectorAll('.cx-inline')) t = t.replace(c.textContent ?? '', '');
      return t.replace(/\u00a0/g, ' ');
    };
    return lines
      .map((el) => ({ top: parseFloat(el.style.top || '0'), text: textOf(el) }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join('\n')
      .replace(/\s+$/, '');
  });
}

export async function waitForEditorText(page, expected, timeout = 10000) {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = await editorText(page);
    if (typeof expected === 'string' ? last === expected : expected.test(last)) return last;
    await sleep(100);
  }
  assert.fail(`editor text never became ${expected}; last seen:\n${last}`);
}

/** Puts the caret at the end of the document and types (insertText: no auto-indent). */
export async function typeAtEnd(page, text) {
  await page.locator('.editor-host .view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText(text);
}

export async function waitForRoom(page) {
  await page.locator('.editor-host .monaco-editor').waitFor({ timeout: 20000 });
  await page.locator('[data-status="connected"]').waitFor({ timeout: 20000 });
  await page.locator('.tab').first().waitFor({ timeout: 20000 });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` (in Node) until it returns a truthy value; fails with `what` after `timeout`. */
export async function waitUntil(fn, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Records, in the page and synchronously, the body of every `POST /api/analyze` the app
 * makes (`window.__analyzeCalls`), so a test can count them at an exact moment of a fake clock.
 */
export async function recordAnalyzeCalls(context) {
  await context.addInitScript(() => {
    const calls = [];
    Object.defineProperty(window, '__analyzeCalls', { value: calls });
    const orig = window.fetch;
    window.fetch = function (input, init) {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.endsWith('/api/analyze')) calls.push(JSON.parse(String(init?.body ?? '{}')));
      return orig.apply(this, arguments);
    };
  });
}

export const analyzeCalls = (page) => page.evaluate(() => window.__analyzeCalls);
