import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { relativeRange } from '../../src/lib/carets';

/** Two synced docs; `b` inserts at `at` while `a`'s caret is saved at `caret`. */
function remoteInsertAt(initial: string, caret: number, at: number, insert: string) {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.getText('t').insert(0, initial);
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  const saved = relativeRange(a.getText('t'), caret, caret);
  b.getText('t').insert(at, insert);
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
  return Y.createAbsolutePositionFromRelativePosition(saved.start, a)?.index;
}

describe('relativeRange', () => {
  test("a remote insert at the caret goes after it: the caret stays with what you typed", () => {
    expect(remoteInsertAt('aaa', 3, 3, 'B')).toBe(3); // at the end
    expect(remoteInsertAt('aaaxyz', 3, 3, 'B')).toBe(3); // in the middle of a line
    expect(remoteInsertAt('', 0, 0, 'B')).toBe(0); // in an empty text
  });
  test('a remote insert before the caret moves it along', () => {
    expect(remoteInsertAt('aaa', 3, 1, 'BB')).toBe(5);
  });
  test('a range keeps exactly the characters it covered', () => {
    const d = new Y.Doc();
    const t = d.getText('t');
    t.insert(0, 'xxSELyy');
    const r = relativeRange(t, 2, 5);
    t.insert(5, 'after');
    t.insert(2, 'before');
    const s = Y.createAbsolutePositionFromRelativePosition(r.start, d)?.index ?? -1;
    const e = Y.createAbsolutePositionFromRelativePosition(r.end, d)?.index ?? -1;
    expect(t.toString().slice(s, e)).toBe('SEL');
  });
});
