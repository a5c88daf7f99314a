import { describe, expect, test } from 'vitest';
import { cleanName, initials, PALETTE, textOn, withAlpha } from '../../src/lib/identity';
import { MAX_RECENT, parseRecent, timeAgo, withVisit } from '../../src/lib/recentRooms';
import { languageById, languageForPath, LANGUAGES } from '../../src/lib/languages';
import { shortcutFor, APP_SHORTCUTS } from '../../src/components/shortcuts';

describe('identity', () => {
  test('names are trimmed, collapsed and bounded', () => {
    expect(cleanName('  Ada    Lovelace ')).toBe('Ada Lovelace');
    expect(cleanName('x'.repeat(50))).toHaveLength(32);
    expect(cleanName('   ')).toBe('');
  });
  test('initials and colours', () => {
    expect(initials('ada lovelace byron')).toBe('AL');
    expect(initials('')).toBe('?');
    expect(withAlpha('#ff0000', 0.25)).toBe('#ff000040');
  });
  test('label text is readable on every palette colour', () => {
    expect(textOn('#000000')).toBe('#ffffff');
    expect(textOn('#ffffff')).toBe('#000000');
    expect(textOn('#d6a700')).toBe('#000000');
    expect(textOn('#6e56cf')).toBe('#ffffff');
    expect(PALETTE.every((c) => /^#[0-9a-f]{6}$/.test(c))).toBe(true);
  });
});

describe('recent rooms', () => {
  test('most recent first, no duplicates, bounded', () => {
    let list = parseRecent(null);
    for (let i = 0; i < 12; i++) list = withVisit(list, `room-${i}`, i);
    list = withVisit(list, 'room-5', 100);
    expect(list).toHaveLength(MAX_RECENT);
    expect(list[0]).toEqual({ id: 'room-5', visitedAt: 100 });
    expect(list.filter((r) => r.id === 'room-5')).toHaveLength(1);
  });
  test('garbage in storage is ignored', () => {
    expect(parseRecent('not json')).toEqual([]);
    expect(parseRecent('{"id":1}')).toEqual([]);
    expect(parseRecent('[{"id":"ok","visitedAt":1},{"id":"bad id","visitedAt":2},{"id":"x"}]')).toEqual([{ id: 'ok', visitedAt: 1 }]);
  });
  test('time ago', () => {
    expect(timeAgo(0, 30_000)).toBe('just now');
    expect(timeAgo(0, 5 * 60_000)).toBe('5 min ago');
    expect(timeAgo(0, 3 * 3600_000)).toBe('3 h ago');
    expect(timeAgo(0, 26 * 3600_000)).toBe('yesterday');
    expect(timeAgo(0, 72 * 3600_000)).toBe('3 days ago');
  });
});

describe('languages', () => {
  test('python and javascript are the analysable ones', () => {
    expect(LANGUAGES.filter((l) => l.analyzable).map((l) => l.id)).toEqual(['python', 'javascript']);
  });
  test('unknown ids still show', () => {
    expect(languageById('cobol')).toMatchObject({ id: 'cobol', monaco: 'plaintext', analyzable: false });
  });
  test('extensions', () => {
    expect(languageForPath('main.py')?.id).toBe('python');
    expect(languageForPath('x.mjs')?.id).toBe('javascript');
    expect(languageForPath('x.hpp')?.id).toBe('cpp');
    expect(languageForPath('README')).toBeUndefined();
  });
});

describe('shortcuts', () => {
  test('Alt+key by physical key, nothing with Ctrl or Meta', () => {
    expect(shortcutFor({ altKey: true, ctrlKey: false, metaKey: false, code: 'KeyN' })).toBe('newFile');
    expect(shortcutFor({ altKey: true, ctrlKey: true, metaKey: false, code: 'KeyN' })).toBeNull();
    expect(shortcutFor({ altKey: false, ctrlKey: false, metaKey: false, code: 'KeyN' })).toBeNull();
    expect(new Set(APP_SHORTCUTS.map((s) => s.code)).size).toBe(APP_SHORTCUTS.length);
  });
});
