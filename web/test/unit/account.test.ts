// Who is signed in: asked only by a browser that signed in before; a 401 forgets it, an
// unreachable server does not.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';

const store = new Map<string, string>();

beforeEach(() => {
  store.clear();
  vi.resetModules();
  vi.stubGlobal('localStorage', {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => void store.set(k, v),
  });
});
afterEach(() => vi.unstubAllGlobals());

async function load(answer: () => Promise<Response>) {
  const fetch = vi.fn(answer);
  vi.stubGlobal('fetch', fetch);
  const account = await import('../../src/lib/account');
  return { account, fetch };
}

describe('the signed-in account', () => {
  test('a browser that never signed in is signed out without asking; one that did must ask', async () => {
    const never = await load(async () => new Response('{}', { status: 200 }));
    expect(never.account.currentAccount()).toEqual({ state: 'signed-out' });
    store.set('peercode.account', 'olive');
    vi.resetModules();
    const before = await load(async () => new Response('{}', { status: 200 }));
    expect(before.account.currentAccount()).toEqual({ state: 'unknown' });
  });

  test('signed in here before: asks, and the answer is remembered', async () => {
    store.set('peercode.account', 'olive');
    const { account, fetch } = await load(async () => new Response('{"username":"olive"}', { status: 200 }));
    await account.refreshAccount();
    expect(fetch).toHaveBeenCalledWith('/api/me', expect.anything());
    expect(account.currentAccount()).toEqual({ state: 'signed-in', username: 'olive' });
    expect(store.get('peercode.account')).toBe('olive');
  });

  test('a 401 forgets it; an unreachable server does not', async () => {
    store.set('peercode.account', 'olive');
    const gone = await load(async () => new Response('{"error":"your session has ended"}', { status: 401 }));
    await gone.account.refreshAccount();
    expect(store.get('peercode.account')).toBe('');
    store.set('peercode.account', 'olive');
    vi.resetModules();
    const down = await load(async () => Promise.reject(new TypeError('Failed to fetch')));
    await down.account.refreshAccount();
    expect(down.account.currentAccount()).toEqual({ state: 'signed-out' });
    expect(store.get('peercode.account')).toBe('olive');
  });

  test('signing in and out is remembered', async () => {
    const { account } = await load(async () => new Response('{}', { status: 200 }));
    account.setSignedIn('olive');
    expect(store.get('peercode.account')).toBe('olive');
    account.setSignedOut();
    expect(store.get('peercode.account')).toBe('');
  });
});
