// End-to-end: accounts and access (issue 13) in the browser. An owner signs up, makes a
// private room and a view-only link; a guest opens it in another browser, names herself, sees
// the text, cannot change it, and is told when the link is revoked; sign-out, wrong
// passwords, a taken username, a private room to a stranger, and a 429 said as a wait.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, editorText, openClient, screenshot, typeAtEnd, useServerAndBrowser, waitForEditorText, waitForRoom, waitUntil } from './harness.mjs';

/** Deliberate refusals in these pages: Chromium logs each refused request as an error. */
const REFUSED = [/Failed to load resource: the server responded with a status of (401|404|409|429)/];
const PASSWORD = 'correct horse battery';

describe('accounts and access in the browser', { timeout: 240_000 }, () => {
  const env = useServerAndBrowser();
  let owner; // Olive: signs up, owns the private room
  let guest; // Gwen: joins by the view-only link, without an account
  let roomUrl;
  let link;

  test('sign up from the lobby: signed in, with an empty "My rooms"', async () => {
    owner = await openClient(env.browser, `${env.server.url}/`, { name: 'Olive' });
    const { page } = owner;
    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.waitForURL(/\/signup$/);
    // The form checks what it can before asking the server.
    await page.getByLabel('Username').fill('o');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByTestId('auth-error').getByText('A username is 3 to 32').waitFor();
    await page.getByLabel('Username').fill('olive');
    await screenshot(page, 'signup-1280x720-dark');
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL(`${env.server.url}/`);
    await page.getByTestId('account-name').getByText('olive').waitFor();
    await page.getByRole('region', { name: 'My rooms' }).getByText('No rooms yet').waitFor();
  });

  test('a new private room, text typed, and a view-only link from the share dialog', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: 'New private room' }).click();
    await page.waitForURL(/\/r\/[a-z0-9-]+$/);
    roomUrl = page.url();
    await waitForRoom(page);
    await typeAtEnd(page, "print('only olive writes here')");
    await waitForEditorText(page, "print('only olive writes here')");
    // The owner's own badge, from the server's word.
    await page.locator('.participant[data-self] [data-badge="owner"]').waitFor();
    assert.equal(await page.getByTestId('view-only').count(), 0, 'no banner for the owner');
    await page.getByRole('button', { name: 'Share' }).click();
    const dialog = page.getByRole('dialog', { name: 'Share this room' });
    await dialog.getByText('This room is private').waitFor();
    await dialog.getByLabel('Role of the link').selectOption('viewer');
    await dialog.getByLabel('Link expires after').selectOption({ label: '1 day' });
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const box = dialog.getByRole('textbox', { name: 'Invite link', exact: true });
    await box.waitFor();
    link = await box.inputValue();
    assert.match(link, new RegExp(`^${env.server.url}/r/[a-z0-9-]+\\?invite=[A-Za-z0-9_-]{20,}$`));
    await dialog.getByText(/view-only link, expires in (23|24) h/).waitFor();
    const links = dialog.getByRole('list', { name: 'Invite links' }).locator('li');
    await waitUntil(async () => (await links.count()) === 1, 'the link listed');
    await links.first().getByText('viewer').waitFor();
    await screenshot(page, 'share-dialog-1280x720-dark');
    await dialog.getByRole('button', { name: 'Done' }).click();
  });

  test('the guest opens the link, gives a name, sees the text, cannot type, and is told it is view only', async () => {
    guest = await openClient(env.browser, link, { name: null, theme: 'light' });
    const { page } = guest;
    const ask = page.getByRole('dialog', { name: /Join room .* as a guest/ });
    await ask.waitFor();
    await ask.getByLabel('Your name').fill('Gwen');
    await ask.getByRole('button', { name: 'Join room' }).click();
    await waitForRoom(page);
    await waitForEditorText(page, "print('only olive writes here')");
    await page.getByTestId('view-only').getByText('View only.').waitFor();
    assert.equal(await page.locator('.editor-host').getAttribute('data-readonly'), 'true');
    // Run is there but disabled, and says why.
    assert.equal(await page.locator('.run-button').isDisabled(), true);
    assert.match(await page.locator('.run-disabled').getAttribute('title'), /Viewers cannot run code/);
    assert.equal(await page.getByLabel('Language').isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'New file' }).count(), 0, 'no new files for a viewer');
    await page.locator('.participant[data-self] [data-badge="guest"]').waitFor();
    // Typing and pasting change nothing, here or anywhere.
    await page.locator('.editor-host .view-lines').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('XYZ');
    await page.keyboard.insertText('PASTED');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Control+z');
    // A fence from the owner: once the guest sees it, anything she sent before has arrived too.
    await typeAtEnd(owner.page, '\n# fence');
    const fenced = "print('only olive writes here')\n# fence";
    await waitForEditorText(page, fenced);
    await waitForEditorText(owner.page, fenced);
    const state = await owner.page.evaluate(async (url) => {
      const room = new URL(url).pathname.split('/')[2];
      return (await fetch(`/api/rooms/${room}/state`)).json();
    }, roomUrl);
    assert.equal(state.files['main.py'], fenced, "the server's document never had the guest's keys");
    await screenshot(page, 'view-only-1280x720-light');
  });

  test('the owner sees the guest with her badge', async () => {
    const gwen = owner.page.locator('.participant').filter({ hasText: 'Gwen' });
    await gwen.locator('[data-badge="guest"]').waitFor();
    assert.match(await gwen.locator('[data-badge]').getAttribute('title'), /Guest by invite link: can only view/);
    await screenshot(owner.page, 'owner-sees-guest-1280x720-dark');
  });

  test('revoking the link tells the guest at once', async () => {
    const { page } = owner;
    // From the keyboard: Alt+L opens the owner's share dialog, Escape closes it.
    await page.keyboard.press('Alt+L');
    const dialog = page.getByRole('dialog', { name: 'Share this room' });
    await dialog.getByRole('button', { name: /Revoke the viewer link/ }).click();
    await dialog.getByText('No links yet.').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const refused = guest.page.getByTestId('room-refused');
    await refused.getByText('Your access to this room was revoked').waitFor();
    await refused.getByText('The owner revoked the invite link you came with.').waitFor();
    assert.equal(await guest.page.locator('.editor-host').count(), 0, 'the room is gone from her page');
    await screenshot(guest.page, 'revoked-1280x720-light');
    // And the owner no longer sees her.
    await waitUntil(async () => (await page.locator('.participant').filter({ hasText: 'Gwen' }).count()) === 0, 'Gwen gone from the list');
    // Opening the link again: it no longer works.
    await guest.page.goto(link);
    await guest.page.getByRole('dialog', { name: /as a guest/ }).getByRole('button', { name: 'Join room' }).click();
    await guest.page.getByTestId('room-refused').getByText('This invite link no longer works').waitFor();
    assertNoConsoleErrors(guest, [...REFUSED, /WebSocket connection to .* failed/]);
    await guest.context.close();
  });

  test('a member: added as editor in the share dialog, demoted to viewer while typing, then removed', async () => {
    const bob = await openClient(env.browser, `${env.server.url}/signup`, { name: 'Bob' });
    await bob.page.getByLabel('Username').fill('bob');
    await bob.page.getByLabel('Password').fill(PASSWORD);
    await bob.page.getByRole('button', { name: 'Sign up' }).click();
    await bob.page.getByTestId('account-name').getByText('bob').waitFor();
    const { page } = owner;
    const share = async () => {
      await page.getByRole('button', { name: 'Share' }).click();
      return page.getByRole('dialog', { name: 'Share this room' });
    };
    let dialog = await share();
    await dialog.getByLabel('Username to add').fill('nobody-here');
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByRole('alert').getByText('No such user.').waitFor();
    await dialog.getByLabel('Username to add').fill('bob');
    await dialog.getByLabel('Role of the new member').selectOption('editor');
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByLabel('Role of bob').waitFor();
    assert.equal(await dialog.getByLabel('Role of bob').inputValue(), 'editor');
    await dialog.getByRole('button', { name: 'Done' }).click();
    // Bob opens the room as a member (no link): an editor, and he types.
    await bob.page.goto(roomUrl);
    await waitForRoom(bob.page);
    await bob.page.locator('.participant[data-self] [data-badge="editor"]').waitFor();
    await typeAtEnd(bob.page, '\n# bob');
    const withBob = "print('only olive writes here')\n# fence\n# bob";
    await waitForEditorText(page, withBob);
    await page.locator('.participant').filter({ hasText: 'Bob' }).locator('[data-badge="editor"]').waitFor();
    // Demoted while in the room: his next keys are refused, his page turns view-only and
    // shows the server's text again.
    dialog = await share();
    await dialog.getByLabel('Role of bob').selectOption('viewer');
    await waitUntil(async () => (await dialog.getByLabel('Role of bob').inputValue()) === 'viewer' && !(await dialog.getByRole('button', { name: 'Done' }).isDisabled()), 'the change saved');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await bob.page.locator('.editor-host .view-lines').click();
    await bob.page.keyboard.press('Control+End');
    await bob.page.keyboard.insertText('zzz');
    await bob.page.getByTestId('view-only').waitFor();
    await waitForEditorText(bob.page, withBob);
    await page.locator('.participant').filter({ hasText: 'Bob' }).locator('[data-badge="viewer"]').waitFor({ timeout: 15000 });
    assert.equal(await editorText(page), withBob, "the owner never had Bob's refused keys");
    // Removed: told at once.
    dialog = await share();
    await dialog.getByRole('button', { name: 'Remove bob' }).click();
    await dialog.getByText('No members yet').waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await bob.page.getByTestId('room-refused').getByText('The owner removed you from this room.').waitFor();
    assertNoConsoleErrors(bob, REFUSED);
    await bob.context.close();
  });

  test('a stranger signed out is told the room is private, with Sign in', async () => {
    const stranger = await openClient(env.browser, roomUrl, { name: 'Stan' });
    const refused = stranger.page.getByTestId('room-refused');
    await refused.getByText('This room is private').waitFor();
    await refused.getByRole('link', { name: 'Sign in' }).click();
    await stranger.page.waitForURL(/\/login\?next=%2Fr%2F/);
    assertNoConsoleErrors(stranger, REFUSED);
    await stranger.context.close();
  });

  test('sign out: "My rooms" is gone; a wrong password is said; the right one brings them back', async () => {
    const { page } = owner;
    await page.getByRole('link', { name: 'PeerCode' }).click();
    const mine = page.getByRole('region', { name: 'My rooms' });
    await mine.getByRole('link', { name: new URL(roomUrl).pathname.split('/')[2] }).waitFor();
    await screenshot(page, 'my-rooms-1280x720-dark');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal(await mine.count(), 0, 'no "My rooms" signed out');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill('olive');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('auth-error').getByText('Wrong username or password.').waitFor();
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the wrong password is cleared');
    await screenshot(page, 'login-error-1280x720-dark');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL(`${env.server.url}/`);
    await mine.getByRole('link', { name: new URL(roomUrl).pathname.split('/')[2] }).waitFor();
  });

  test('a taken username is said on sign-up', async () => {
    const other = await openClient(env.browser, `${env.server.url}/signup`, { name: 'Other' });
    await other.page.getByLabel('Username').fill('Olive');
    await other.page.getByLabel('Password').fill(PASSWORD);
    await other.page.getByRole('button', { name: 'Sign up' }).click();
    await other.page.getByTestId('auth-error').getByText('That username is taken. Pick another one.').waitFor();
    assertNoConsoleErrors(other, REFUSED);
    await other.context.close();
  });

  test('too many wrong passwords: 429 is shown as a wait, the button counts down', async () => {
    const other = await openClient(env.browser, `${env.server.url}/login`, { name: 'Mallory' });
    const { page } = other;
    await page.getByLabel('Username').fill('olive');
    const error = page.getByTestId('auth-error');
    // The server allows 5 failures per account per minute (one was spent above).
    for (let i = 0; i < 8; i++) {
      // Typing clears the previous answer, so the next one is this attempt's.
      await page.getByLabel('Password').fill(`wrong ${i}`);
      await error.waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await error.waitFor();
      if (/Too many attempts/.test((await error.textContent()) ?? '')) break;
    }
    await error.getByText(/Too many attempts\. Wait \d+ s and try again\./).waitFor();
    const button = page.getByRole('button', { name: /^Wait \d+ s$/ });
    await button.waitFor();
    assert.equal(await button.isDisabled(), true);
    await screenshot(page, 'login-429-1280x720-dark');
    assertNoConsoleErrors(other, REFUSED);
    await other.context.close();
  });

  test('an editor guest can type; deleting the room from "My rooms" tells her it was deleted', async () => {
    const { page } = owner;
    const name = new URL(roomUrl).pathname.split('/')[2];
    const made = await page.evaluate(async (room) => {
      const res = await fetch(`/api/rooms/${room}/invites`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'editor' }) });
      return res.json();
    }, name);
    const eve = await openClient(env.browser, `${env.server.url}${made.url}`, { name: 'Eve' });
    const ask = eve.page.getByRole('dialog', { name: /as a guest/ });
    assert.equal(await ask.getByLabel('Your name').inputValue(), 'Eve', 'the remembered name is offered');
    await ask.getByRole('button', { name: 'Join room' }).click();
    await waitForRoom(eve.page);
    await eve.page.locator('.participant[data-self] [data-badge="guest"]').waitFor();
    assert.equal(await eve.page.getByTestId('view-only').count(), 0, 'an editor link is not view only');
    await typeAtEnd(eve.page, '# eve was here');
    await waitForEditorText(eve.page, /# eve was here$/);
    // Her runs go out with her link (the runs routes take ?invite= too).
    await eve.page.locator('.run-panel .run-button').click();
    await eve.page.locator('.run-panel .run-summary .run-verdict[data-verdict="ok"]').waitFor({ timeout: 60000 });
    await eve.page.locator('.run-panel .run-stdout .run-text').filter({ hasText: 'only olive writes here' }).waitFor();
    await page.getByRole('button', { name: `Delete ${name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${name}?` });
    await dialog.getByRole('button', { name: 'Delete room' }).click();
    await page.getByRole('region', { name: 'My rooms' }).getByText('No rooms yet').waitFor();
    await eve.page.getByTestId('room-refused').getByText('This room was deleted').waitFor();
    await screenshot(eve.page, 'room-deleted-1280x720-dark');
    assertNoConsoleErrors(eve, REFUSED);
    await eve.context.close();
  });

  test('a public room: a stranger signed out watches it view-only, badged viewer', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: 'New public room' }).click();
    await page.waitForURL(/\/r\/[a-z0-9-]+$/);
    await waitForRoom(page);
    await typeAtEnd(page, 'x = 1');
    const stranger = await openClient(env.browser, page.url(), { name: 'Stan', viewport: { width: 390, height: 844 } });
    await waitForRoom(stranger.page);
    await waitForEditorText(stranger.page, 'x = 1');
    await stranger.page.getByTestId('view-only').waitFor();
    await stranger.page.locator('.participant[data-self] [data-badge="viewer"]').waitFor();
    await page.locator('.participant').filter({ hasText: 'Stan' }).locator('[data-badge="viewer"]').waitFor();
    // Anyone may copy a public room's address; the owner shares from the dialog.
    await stranger.page.getByRole('button', { name: 'Copy invite link' }).waitFor();
    await screenshot(stranger.page, 'public-viewer-390x844-dark');
    assertNoConsoleErrors(stranger, REFUSED);
    assertNoConsoleErrors(owner, REFUSED);
    await stranger.context.close();
    await owner.context.close();
  });
});
