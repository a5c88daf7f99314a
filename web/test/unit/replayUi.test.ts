import { describe, expect, test } from 'vitest';
import { changedSpan } from '../../src/lib/replay/textEdit';
import { replayPath, routeOf } from '../../src/lib/router';
import { isValidRoomId } from '../../src/lib/roomId';
import { PLAYER_SHORTCUTS, playerActionFor } from '../../src/components/shortcuts';

const key = (k: string, mods: Partial<Record<'altKey' | 'ctrlKey' | 'metaKey', boolean>> = {}) => ({ key: k, altKey: false, ctrlKey: false, metaKey: false, ...mods });

describe('routes', () => {
  test('/r/{room}/replay is the player, /r/{room} the room', () => {
    expect(routeOf('/r/abc-123/replay', isValidRoomId)).toEqual({ page: 'replay', room: 'abc-123' });
    expect(routeOf('/r/abc-123/replay/', isValidRoomId)).toEqual({ page: 'replay', room: 'abc-123' });
    expect(routeOf('/r/abc-123', isValidRoomId)).toEqual({ page: 'room', room: 'abc-123' });
    expect(routeOf('/r/replay', isValidRoomId)).toEqual({ page: 'room', room: 'replay' });
    expect(routeOf('/r/.bad/replay', isValidRoomId)).toMatchObject({ page: 'lobby', notice: expect.any(String) });
    expect(routeOf('/r/abc/other', isValidRoomId)).toEqual({ page: 'lobby' });
    expect(replayPath('a.b_c')).toBe('/r/a.b_c/replay');
  });
});

describe('player keys', () => {
  test('each documented key does what the dialog says', () => {
    expect(playerActionFor(key(' '))).toEqual({ kind: 'toggle' });
    expect(playerActionFor(key('ArrowLeft'))).toEqual({ kind: 'seekBy', ms: -5000 });
    expect(playerActionFor(key('ArrowRight'))).toEqual({ kind: 'seekBy', ms: 5000 });
    expect(playerActionFor(key('['))).toEqual({ kind: 'marker', direction: -1 });
    expect(playerActionFor(key(']'))).toEqual({ kind: 'marker', direction: 1 });
    expect(playerActionFor(key(','))).toEqual({ kind: 'step', direction: -1 });
    expect(playerActionFor(key('.'))).toEqual({ kind: 'step', direction: 1 });
    expect(playerActionFor(key('0'))).toEqual({ kind: 'digit', digit: 0 });
    expect(playerActionFor(key('7'))).toEqual({ kind: 'digit', digit: 7 });
    expect(PLAYER_SHORTCUTS.map((s) => s.keys)).toEqual(['Space', '← / →', '[ / ]', '0 – 9', ', / .']);
  });

  test('nothing with a modifier, nothing for other keys', () => {
    expect(playerActionFor(key(' ', { ctrlKey: true }))).toBeNull();
    expect(playerActionFor(key('[', { altKey: true }))).toBeNull();
    expect(playerActionFor(key('5', { metaKey: true }))).toBeNull();
    expect(playerActionFor(key('a'))).toBeNull();
    expect(playerActionFor(key('Enter'))).toBeNull();
  });
});

describe('the edit between two moments of a file', () => {
  const apply = (before: string, after: string) => {
    const s = changedSpan(before, after);
    return s ? before.slice(0, s.start) + s.text + before.slice(s.end) : before;
  };

  test('only the span that differs', () => {
    expect(changedSpan('hello', 'hello')).toBeNull();
    expect(changedSpan('hello world', 'hello brave world')).toEqual({ start: 6, end: 6, text: 'brave ' });
    expect(changedSpan('abcdef', 'abef')).toEqual({ start: 2, end: 4, text: '' });
    expect(changedSpan('', 'x')).toEqual({ start: 0, end: 0, text: 'x' });
    expect(changedSpan('aaa', 'aaaa')).toEqual({ start: 3, end: 3, text: 'a' });
  });

  test('turns any text into any other, and never splits a surrogate pair', () => {
    const cases: Array<[string, string]> = [
      ['def f():\n    pass\n', 'def f():\n    return 1\n'],
      ['a😀b', 'a😁b'],
      ['😀', '😀😀'],
      ['x\ny\nz', 'z'],
      ['', ''],
    ];
    for (const [a, b] of cases) expect(apply(a, b)).toBe(b);
    const s = changedSpan('a😀b', 'a😁b')!;
    expect(s.text).toBe('😁');
  });
});
