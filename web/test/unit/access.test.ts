import { describe, expect, test } from 'vitest';
import { ApiError, authErrorMessage, checkCredentials, formatWait, guestQuery, parseRetryAfter, request, sentence } from '../../src/lib/api';
import { badgeOf, badgeTitle, closedFor, expiryText, inviteFromSearch, refusalOf, EXPIRY_CHOICES, DEFAULT_EXPIRY_S } from '../../src/lib/access';
import { authPath, nextFromSearch, routeOf } from '../../src/lib/router';
import { isValidRoomId } from '../../src/lib/roomId';

const TOKEN = 'h1dBAH3x_-abcdefghijklmnopqrstuvwxyz0123456';

describe('invite links in URLs', () => {
  test('the token of ?invite= when it could be one, else null', () => {
    expect(inviteFromSearch(`?invite=${TOKEN}`)).toBe(TOKEN);
    expect(inviteFromSearch(`?x=1&invite=${TOKEN}&y=2`)).toBe(TOKEN);
    expect(inviteFromSearch('')).toBeNull();
    expect(inviteFromSearch('?invite=')).toBeNull();
    expect(inviteFromSearch('?invite=short')).toBeNull();
    expect(inviteFromSearch('?invite=has%20a%20space%20in%20it%20yes')).toBeNull();
    expect(inviteFromSearch(`?invite=${'a'.repeat(129)}`)).toBeNull();
  });
  test('a guest rides as ?invite=&name=, encoded', () => {
    expect(guestQuery(null)).toBe('');
    expect(guestQuery({ invite: TOKEN, name: 'Gwen & co' })).toBe(`?invite=${TOKEN}&name=Gwen+%26+co`);
  });
});

describe('link expiry', () => {
  const now = 1_700_000_000_000;
  test('reads as people say it', () => {
    expect(expiryText(null, now)).toBe('never expires');
    expect(expiryText(now, now)).toBe('expired');
    expect(expiryText(now - 1, now)).toBe('expired');
    expect(expiryText(now + 1, now)).toBe('expires in 1 min');
    expect(expiryText(now + 59 * 60_000, now)).toBe('expires in 59 min');
    expect(expiryText(now + 3_600_000, now)).toBe('expires in 1 h');
    expect(expiryText(now + 24 * 3_600_000, now)).toBe('expires in 24 h');
    expect(expiryText(now + 7 * 86_400_000, now)).toBe('expires in 7 days');
  });
  test('the choices are within what the server takes, the default among them', () => {
    for (const c of EXPIRY_CHOICES) if (c.seconds !== null) expect(c.seconds >= 60 && c.seconds <= 30 * 86_400).toBe(true);
    expect(EXPIRY_CHOICES.some((c) => c.seconds === DEFAULT_EXPIRY_S)).toBe(true);
    expect(EXPIRY_CHOICES.some((c) => c.seconds === null)).toBe(true);
  });
});

describe('badges', () => {
  test("from the server's word: guests are guests, others their role; nothing in unowned rooms", () => {
    expect(badgeOf({ client: 1, role: 'owner', kind: 'user' }, true)).toBe('owner');
    expect(badgeOf({ client: 1, role: 'editor', kind: 'user' }, true)).toBe('editor');
    expect(badgeOf({ client: 1, role: 'viewer', kind: 'user' }, true)).toBe('viewer');
    expect(badgeOf({ client: 1, role: 'editor', kind: 'guest' }, true)).toBe('guest');
    expect(badgeOf({ client: 1, role: 'viewer', kind: 'guest' }, true)).toBe('guest');
    expect(badgeOf({ client: 1, role: 'editor', kind: 'anonymous' }, false)).toBeNull();
    expect(badgeOf(undefined, true)).toBeNull();
    expect(badgeOf({ client: 1, role: null, kind: 'user' }, true)).toBeNull();
  });
  test('the tooltip says what the role allows', () => {
    expect(badgeTitle({ client: 1, role: 'viewer', kind: 'guest' })).toBe('Guest by invite link: can only view');
    expect(badgeTitle({ client: 1, role: 'editor', kind: 'guest' })).toBe('Guest by invite link: can edit');
    expect(badgeTitle({ client: 1, role: 'owner', kind: 'user' })).toBe('Owner: owns the room');
    expect(badgeTitle(undefined)).toBe('');
  });
});

describe('refusals', () => {
  test('a room that cannot be opened', () => {
    expect(refusalOf(401, 'this invite link has expired', { invite: true, signedIn: false }).title).toBe('This invite link has expired');
    expect(refusalOf(401, 'invalid or revoked invite link', { invite: true, signedIn: false }).title).toBe('This invite link no longer works');
    expect(refusalOf(401, 'your session has ended; sign in again', { invite: false, signedIn: false })).toMatchObject({ title: 'Sign in to open this room', signIn: true });
    expect(refusalOf(404, 'no such room', { invite: false, signedIn: false })).toMatchObject({ title: 'This room is private', signIn: true });
    expect(refusalOf(404, 'no such room', { invite: false, signedIn: true })).toMatchObject({ title: 'This room is private', signIn: false });
    expect(refusalOf(403, 'anonymous rooms are off', { invite: false, signedIn: true }).detail).toBe('anonymous rooms are off');
  });
  test('closed for good: 4003 and 4004; other codes reconnect', () => {
    expect(closedFor(4003, 'access revoked: the invite link was revoked')?.detail).toBe('The owner revoked the invite link you came with.');
    expect(closedFor(4003, 'access revoked: you are no longer a member')?.detail).toBe('The owner removed you from this room.');
    expect(closedFor(4003, 'access revoked: the invite link expired')?.detail).toMatch(/^The invite link you came with has expired/);
    expect(closedFor(4004, 'room deleted by its owner')?.title).toBe('This room was deleted');
    expect(closedFor(1008, 'the room has 50 guests already')?.title).toBe('This room is full');
    expect(closedFor(1008, 'too many messages')).toBeNull();
    expect(closedFor(1006, '')).toBeNull();
    expect(closedFor(1013, 'too slow')).toBeNull();
  });
});

describe('the account forms', () => {
  test('checked before asking the server', () => {
    expect(checkCredentials('signup', 'ol', 'long enough')).toMatch(/3 to 32/);
    expect(checkCredentials('signup', 'has space', 'long enough')).toMatch(/3 to 32/);
    expect(checkCredentials('signup', 'olive', 'short')).toMatch(/at least 8/);
    expect(checkCredentials('signup', 'olive', 'long enough')).toBeNull();
    // Signing in takes what the account was made with; only emptiness is checked.
    expect(checkCredentials('login', 'ol', 'x')).toBeNull();
    expect(checkCredentials('login', ' ', 'x')).toBe('Enter your username.');
    expect(checkCredentials('login', 'olive', '')).toBe('Enter your password.');
  });
  test("the server's refusals as sentences, 429 as a wait", () => {
    expect(authErrorMessage('login', new ApiError(401, 'wrong username or password'))).toBe('Wrong username or password.');
    expect(authErrorMessage('signup', new ApiError(409, 'username taken'))).toBe('That username is taken. Pick another one.');
    expect(authErrorMessage('login', new ApiError(429, 'too many', 42))).toBe('Too many attempts. Wait 42 s and try again.');
    expect(authErrorMessage('login', new ApiError(429, 'too many', 90))).toBe('Too many attempts. Wait 1 min 30 s and try again.');
    expect(authErrorMessage('login', new ApiError(429, 'too many'))).toBe('Too many attempts. Wait a minute and try again.');
    expect(authErrorMessage('signup', new ApiError(400, 'passwords are 8-1024 bytes'))).toBe('Passwords are 8-1024 bytes.');
    expect(authErrorMessage('login', new Error('x'))).toBe('Something went wrong. Try again.');
  });
  test('Retry-After and waits', () => {
    expect(parseRetryAfter('12')).toBe(12);
    expect(parseRetryAfter(' 3 ')).toBe(3);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeNull();
    expect(parseRetryAfter('-1')).toBeNull();
    expect(formatWait(0)).toBe('1 s');
    expect(formatWait(59.2)).toBe('1 min');
    expect(formatWait(60)).toBe('1 min');
    expect(formatWait(61)).toBe('1 min 1 s');
    expect(sentence('x')).toBe('X.');
    expect(sentence('done!')).toBe('Done!');
  });
  test('request: errors carry the status, the message and Retry-After', async () => {
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => async () => new Response(body, { status, headers });
    await expect(request('POST', '/x', {}, answer(429, '{"error":"slow down"}', { 'retry-after': '7' }))).rejects.toMatchObject({ status: 429, message: 'slow down', retryAfter: 7 });
    await expect(request('GET', '/x', undefined, answer(502, '<html>bad gateway</html>'))).rejects.toMatchObject({ status: 502, message: 'the server answered 502' });
    await expect(request('GET', '/x', undefined, async () => Promise.reject(new TypeError('Failed to fetch')))).rejects.toMatchObject({ status: 0 });
    expect(await request('DELETE', '/x', undefined, async () => new Response(null, { status: 204 }))).toBeNull();
    expect(await request('GET', '/x', undefined, answer(200, '{"username":"olive"}'))).toEqual({ username: 'olive' });
  });
});

describe('routes', () => {
  test('sign-in pages and where they lead back to', () => {
    expect(routeOf('/login', isValidRoomId)).toEqual({ page: 'login' });
    expect(routeOf('/signup/', isValidRoomId)).toEqual({ page: 'signup' });
    expect(authPath('login')).toBe('/login');
    expect(authPath('login', '/')).toBe('/login');
    expect(authPath('signup', '/r/abc?invite=x')).toBe('/signup?next=%2Fr%2Fabc%3Finvite%3Dx');
    expect(nextFromSearch('?next=%2Fr%2Fabc%3Finvite%3Dx')).toBe('/r/abc?invite=x');
    expect(nextFromSearch('')).toBe('/');
    // Never another site.
    expect(nextFromSearch('?next=https%3A%2F%2Fevil.example')).toBe('/');
    expect(nextFromSearch('?next=%2F%2Fevil.example')).toBe('/');
    expect(nextFromSearch('?next=%2F%5Cevil.example')).toBe('/');
    expect(nextFromSearch('?next=javascript%3Aalert(1)')).toBe('/');
  });
});
