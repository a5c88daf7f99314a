import { describe, expect, test } from 'vitest';
import { participantsOf } from '../../src/room/session';

const user = (name: string, person?: string) => ({ user: { name, color: '#30a46c', colorLight: '#30a46c40', person } });

describe('participantsOf', () => {
  test('one person in two tabs is one entry with a count; you first', () => {
    const states = new Map<number, Record<string, unknown>>([
      [10, user('Bob', 'bbbbbbbb')],
      [11, { ...user('Ada', 'aaaaaaaa'), file: 'main.py' }],
      [12, { ...user('Ada', 'aaaaaaaa'), file: 'util.py' }],
      [13, user('Bob', 'bbbbbbbb')],
      [14, user('Eve')],
    ]);
    const list = participantsOf(states, 12);
    expect(list.map((p) => [p.name, p.tabs, p.self])).toEqual([
      ['Ada', 2, true],
      ['Bob', 2, false],
      ['Eve', 1, false],
    ]);
    expect(list[0]?.file).toBe('util.py'); // the file of this tab
  });
  test('two people with the same name stay two', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, user('Sam', 'sam1sam1')],
      [2, user('Sam', 'sam2sam2')],
    ]);
    expect(participantsOf(states, 1)).toHaveLength(2);
  });
});
