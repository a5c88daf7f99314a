// End-to-end: real `peercode serve` serving the built app, several people in Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoConsoleErrors,
  assertServesThisBuild,
  editorText,
  launchBrowser,
  openClient,
  screenshot,
  sleep,
  startServer,
  typeAtEnd,
  waitForEditorText,
  waitForRoom,
} from './harness.mjs';

/** Chromium logs each failed WebSocket attempt while the server is down; that is expected there. */
const WS_RETRY = /WebSocket connection to .* failed/;

describe('PeerCode in the browser', { timeout: 240_000 }, () => {
  let server;
  let browser;
  let ada; // creates the room through the lobby
  let grace; // joins by the invite link, naming herself in the join dialog
  let roomUrl;
  const clients = [];

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

  const track = (c) => (clients.push(c), c);

  test('lobby: pick a name and create a room', async () => {
    ada = track(await openClient(browser, `${server.url}/`));
    const { page } = ada;
    await page.getByRole('heading', { name: 'Code together, live.' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create a room' }).isDisabled(), true, 'no name, no room');
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await screenshot(page, 'lobby-1280x720-dark');
    await page.getByRole('button', { name: 'Create a room' }).click();
    await page.waitForURL(/\/r\/[a-z0-9-]+$/);
    roomUrl = page.url();
    await waitForRoom(page);
    // A new room has the default file of SPEC §2, and the language says Python.
    assert.deepEqual(await page.locator('.tab').allTextContents(), ['main.py']);
    assert.equal(await page.getByLabel('Language').inputValue(), 'python');
    await page.locator('.participants').getByText('Ada Lovelace').waitFor();
  });

  test('typing in one browser appears in the other', async () => {
    grace = track(await openClient(browser, roomUrl));
    const g = grace.page;
    // Joining by link without a remembered name asks for one.
    await g.getByRole('dialog', { name: /Join room/ }).waitFor();
    await g.getByLabel('Your name').fill('Grace Hopper');
    await g.getByRole('button', { name: 'Join room' }).click();
    await waitForRoom(g);

    await typeAtEnd(ada.page, 'def greet(name): return "hello " + name\n');
    await waitForEditorText(g, 'def greet(name): return "hello " + name');
    await typeAtEnd(g, 'print(greet("Ada"))');
    await waitForEditorText(ada.page, 'def greet(name): return "hello " + name\nprint(greet("Ada"))');
  });

  test("each sees the other's cursor with their name, and both in the participant list", async () => {
    const labelOf = (page, name) => page.locator('.remote-cursor-label', { hasText: name });
    await labelOf(ada.page, 'Grace Hopper').waitFor({ state: 'visible', timeout: 10000 });
    // Grace's caret moved last in her own editor; make Ada's move too so Grace sees it.
    await ada.page.locator('.editor-host .view-lines').click();
    await ada.page.keyboard.press('Control+Home');
    await labelOf(grace.page, 'Ada Lovelace').waitFor({ state: 'visible', timeout: 10000 });
    for (const c of [ada, grace]) {
      const names = await c.page.locator('.participants .participant-name').allTextContents();
      assert.deepEqual([...names].sort(), ['Ada Lovelace', 'Grace Hopper']);
    }
    await screenshot(ada.page, 'room-two-people-1280x720-dark');
    await screenshot(grace.page, 'room-two-people-guest-1280x720-dark');
  });

  test('changing the language (and the entry file with it) in one re-highlights the code in the other', async () => {
    const g = grace.page;
    const asPython = await firstLineTokens(g);
    assert.equal(asPython[0]?.text, 'def', `def is a token of its own in Python: ${JSON.stringify(asPython)}`);
    await ada.page.getByLabel('Language').selectOption('javascript');
    // Highlighting follows the file's extension: Ada is offered to make main.py a .js file.
    await ada.page.getByRole('dialog', { name: 'Make main.py a JavaScript file?' }).getByRole('button', { name: 'Rename to main.js' }).click();
    await g.locator('.tab[data-file="main.js"]').waitFor({ timeout: 10000 });
    await g.locator('.editor-host[data-language="javascript"]').waitFor({ timeout: 10000 });
    assert.equal(await g.getByLabel('Language').inputValue(), 'javascript');
    // `def` is a keyword in Python and a plain identifier in JavaScript: the colours change.
    const deadline = Date.now() + 5000;
    let asJs = asPython;
    while (JSON.stringify(asJs) === JSON.stringify(asPython) && Date.now() < deadline) {
      await sleep(100);
      asJs = await firstLineTokens(g);
    }
    assert.notDeepEqual(asJs, asPython, 'the highlighting did not change');
    await ada.page.getByLabel('Language').selectOption('python');
    await ada.page.getByRole('dialog', { name: 'Make main.js a Python file?' }).getByRole('button', { name: 'Rename to main.py' }).click();
    await g.locator('.editor-host[data-language="python"]').waitFor({ timeout: 10000 });
    await g.locator('.tab[data-file="main.py"]').waitFor({ timeout: 10000 });
  });

  test('files: add, rename and delete are seen by everyone', async () => {
    const a = ada.page;
    const g = grace.page;
    await a.getByRole('button', { name: 'New file' }).click();
    const field = a.getByLabel('New file name');
    await field.fill('util.py');
    await field.press('Enter');
    await g.locator('.tab[data-file="util.py"]').waitFor({ timeout: 10000 });
    // A bad name is refused with a reason.
    await a.getByRole('button', { name: 'New file' }).click();
    await a.getByLabel('New file name').fill('../etc/passwd');
    await a.getByLabel('New file name').press('Enter');
    await a.locator('.tab-error').waitFor();
    await a.getByLabel('New file name').press('Escape');

    await typeAtEnd(a, 'X = 1');
    await g.locator('.tab[data-file="util.py"] .tab-label').click();
    await waitForEditorText(g, 'X = 1');
    await g.locator('.tab[data-file="util.py"] .tab-label').dblclick();
    await g.getByLabel('New name for util.py').fill('helpers.py');
    await g.getByLabel('New name for util.py').press('Enter');
    await a.locator('.tab[data-file="helpers.py"]').waitFor({ timeout: 10000 });
    assert.equal(await a.locator('.tab[data-file="util.py"]').count(), 0);
    await a.locator('.tab[data-file="helpers.py"] .tab-label').click();
    await waitForEditorText(a, 'X = 1');

    await a.getByRole('button', { name: 'Delete helpers.py' }).click();
    await a.getByRole('dialog', { name: 'Delete helpers.py?' }).getByRole('button', { name: 'Delete' }).click();
    await g.locator('.tab[data-file="helpers.py"]').waitFor({ state: 'detached', timeout: 10000 });
    assert.deepEqual(await g.locator('.tab').allTextContents(), ['main.py']);
    await waitForEditorText(g, /^def greet/);
  });

  test('undo takes back only your own edits', async () => {
    const a = ada.page;
    const g = grace.page;
    const start = await editorText(a);
    await typeAtEnd(a, '\n# ada was here');
    await waitForEditorText(g, `${start}\n# ada was here`);
    await typeAtEnd(g, '\n# grace too');
    await waitForEditorText(a, `${start}\n# ada was here\n# grace too`);
    await a.keyboard.press('Control+z');
    await waitForEditorText(g, `${start}\n# grace too`);
    await waitForEditorText(a, `${start}\n# grace too`);
    await a.keyboard.press('Control+Shift+z');
    await waitForEditorText(g, `${start}\n# ada was here\n# grace too`);
  });

  test('closing a browser removes that person from the participant list', async () => {
    assertNoConsoleErrors(grace);
    await grace.context.close();
    clients.splice(clients.indexOf(grace), 1);
    await ada.page
      .locator('.participants .participant-name', { hasText: 'Grace Hopper' })
      .waitFor({ state: 'detached', timeout: 15000 });
    await ada.page.locator('.remote-cursor-label', { hasText: 'Grace Hopper' }).waitFor({ state: 'detached' });
    const left = await ada.page.locator('.participants .participant-name').allTextContents();
    assert.ok(left.includes('Ada Lovelace') && !left.includes('Grace Hopper'), `participants: ${left}`);
  });

  test('someone joining later sees the full text', async () => {
    const expected = await editorText(ada.page);
    assert.match(expected, /print\(greet\("Ada"\)\)/);
    const linus = track(await openClient(browser, roomUrl, { name: 'Linus' }));
    await waitForRoom(linus.page);
    await waitForEditorText(linus.page, expected);
    assertNoConsoleErrors(linus);
    await linus.context.close();
    clients.splice(clients.indexOf(linus), 1);
  });

  test('copy invite link puts the room link on the clipboard', async () => {
    const c = track(await openClient(browser, roomUrl, { name: 'Clip', permissions: ['clipboard-read', 'clipboard-write'] }));
    await waitForRoom(c.page);
    await c.page.getByRole('button', { name: 'Copy invite link' }).click();
    await c.page.getByText('Invite link copied').waitFor();
    assert.equal(await c.page.evaluate(() => navigator.clipboard.readText()), roomUrl);
    assertNoConsoleErrors(c);
    await c.context.close();
    clients.splice(clients.indexOf(c), 1);
  });

  test('keyboard shortcuts are listed and work', async () => {
    const a = ada.page;
    await a.keyboard.press('Alt+Slash');
    const dialog = a.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    await dialog.getByText('Copy invite link').waitFor();
    await a.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const before = await a.evaluate(() => document.documentElement.dataset.theme);
    await a.keyboard.press('Alt+KeyT');
    assert.notEqual(await a.evaluate(() => document.documentElement.dataset.theme), before);
    await a.keyboard.press('Alt+KeyT');
    assert.equal(await a.evaluate(() => document.documentElement.dataset.theme), before);
  });

  test('themes: light and dark, remembered across reloads', async () => {
    const a = ada.page;
    await screenshot(a, 'room-1280x720-dark');
    await a.getByRole('button', { name: 'Switch to light theme' }).click();
    assert.equal(await a.evaluate(() => document.documentElement.dataset.theme), 'light');
    const bg = await a.evaluate(() => getComputedStyle(document.querySelector('.monaco-editor .monaco-editor-background')).backgroundColor);
    assert.equal(bg, 'rgb(255, 255, 255)', 'the editor follows the theme');
    await screenshot(a, 'room-1280x720-light');
    await a.reload();
    await waitForRoom(a);
    assert.equal(await a.evaluate(() => document.documentElement.dataset.theme), 'light');
    await a.getByRole('button', { name: 'Switch to dark theme' }).click();
  });

  test('phone-size screen: one column, nothing cut off sideways', async () => {
    const phone = track(await openClient(browser, roomUrl, { name: 'Phone', viewport: { width: 390, height: 844 } }));
    const p = phone.page;
    await waitForRoom(p);
    await waitForEditorText(p, /^def greet/);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    for (const sel of ['.editor-host', '.run-panel', '.participants-panel', '.complexity-panel']) {
      const box = await p.locator(sel).boundingBox();
      assert.ok(box && box.width > 300 && box.x >= 0 && box.x + box.width <= 391, `${sel} fits: ${JSON.stringify(box)}`);
    }
    await screenshot(p, 'room-390x844-dark');
    await p.getByRole('button', { name: 'Switch to light theme' }).click();
    await screenshot(p, 'room-390x844-light');
    await p.goto(`${server.url}/`);
    await p.getByRole('heading', { name: 'Code together, live.' }).waitFor();
    await p.getByText('Recent rooms').waitFor();
    await screenshot(p, 'lobby-390x844-light');
    assertNoConsoleErrors(phone);
    await phone.context.close();
    clients.splice(clients.indexOf(phone), 1);
  });

  test('lobby: recent rooms and joining by pasted link', async () => {
    const a = ada.page;
    await a.getByRole('link', { name: 'PeerCode' }).click();
    await a.getByRole('heading', { name: 'Recent rooms' }).waitFor();
    const id = new URL(roomUrl).pathname.split('/').pop();
    await a.getByRole('link', { name: id }).waitFor();
    await a.getByLabel('Invite link or room id').fill('not a room!');
    await a.getByRole('button', { name: 'Join' }).click();
    await a.locator('.field-error').waitFor();
    await a.getByLabel('Invite link or room id').fill(roomUrl);
    await a.getByRole('button', { name: 'Join' }).click();
    await a.waitForURL(roomUrl);
    await waitForRoom(a);
    await waitForEditorText(a, /^def greet/);
  });

  test('offline: the status says so, edits made offline arrive when back online', async () => {
    const o = track(await openClient(browser, roomUrl, { name: 'Offline Olga' }));
    await waitForRoom(o.page);
    await o.context.setOffline(true);
    await o.page.locator('[data-status="offline"]').waitFor({ timeout: 10000 });
    await typeAtEnd(o.page, '\n# typed on a train');
    await sleep(500);
    assert.doesNotMatch(await editorText(ada.page), /typed on a train/);
    await o.context.setOffline(false);
    await o.page.locator('[data-status="connected"]').waitFor({ timeout: 15000 });
    await waitForEditorText(ada.page, /# typed on a train$/);
    assertNoConsoleErrors(o, [WS_RETRY]);
    await o.context.close();
    clients.splice(clients.indexOf(o), 1);
  });

  test('connection status: reconnecting while the server is down, edits kept and synced after', async () => {
    const a = ada.page;
    const listen = server.listen;
    await server.stop();
    await a.locator('[data-status="reconnecting"], [data-status="offline"]').first().waitFor({ timeout: 10000 });
    await typeAtEnd(a, '\n# written while offline');
    server = await startServer({ dataDir: server.dataDir, listen });
    await a.locator('[data-status="connected"]').waitFor({ timeout: 20000 });
    const late = track(await openClient(browser, roomUrl, { name: 'Late' }));
    await waitForRoom(late.page);
    await waitForEditorText(late.page, /# written while offline$/);
    assertNoConsoleErrors(late);
    await late.context.close();
    clients.splice(clients.indexOf(late), 1);
    assertNoConsoleErrors(ada, [WS_RETRY]);
  });

  test('no console errors anywhere', () => {
    for (const c of clients) assertNoConsoleErrors(c, [WS_RETRY]);
  });
});

/** The first line's highlighted tokens as [text, class] pairs, as Monaco renders them. */
async function firstLineTokens(page) {
  return page.evaluate(() => {
    const lines = Array.from(document.querySelectorAll('.editor-host .view-lines .view-line'));
    lines.sort((a, b) => parseFloat(a.style.top || '0') - parseFloat(b.style.top || '0'));
    const spans = lines[0] ? Array.from(lines[0].querySelectorAll('span > span')) : [];
    return spans
      .map((s) => ({
        text: (s.textContent ?? '').replace(/\u00a0/g, ' '),
        cls: s.className.split(' ').filter((c) => /^mtk\d+$/.test(c)).join(' '),
      }))
      .filter((t) => t.text !== '');
  });
}
