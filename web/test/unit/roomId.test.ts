import { describe, expect, test } from 'vitest';
import { inviteLink, isValidRoomId, newRoomId, parseJoinInput, parseRoomInput, roomPath } from '../../src/lib/roomId';

describe('room ids', () => {
  test('new ids are short, valid and different', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newRoomId()));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^[a-z2-9]{3}-[a-z2-9]{4}-[a-z2-9]{3}$/);
      expect(isValidRoomId(id)).toBe(true);
    }
  });

  test('ids avoid look-alike characters', () => {
    const id = newRoomId((n) => Uint8Array.from({ length: n }, (_, i) => i * 7));
    expect(id).not.toMatch(/[01ilo]/);
  });

  test('validity follows the server rule', () => {
    expect(isValidRoomId('abc_DEF-123')).toBe(true);
    expect(isValidRoomId('a'.repeat(64))).toBe(true);
    expect(isValidRoomId('a'.repeat(128))).toBe(true);
    expect(isValidRoomId('a'.repeat(129))).toBe(false);
    expect(isValidRoomId('team.interview-2')).toBe(true);
    expect(isValidRoomId('.hidden')).toBe(false);
    expect(isValidRoomId('a..b')).toBe(true);
    expect(isValidRoomId('')).toBe(false);
    expect(isValidRoomId('has space')).toBe(false);
    expect(isValidRoomId('../x')).toBe(false);
    expect(isValidRoomId('é')).toBe(false);
  });

  test('join input accepts an id, a path or a whole invite link', () => {
    expect(parseRoomInput('  k7p-m2xq-9rd ')).toBe('k7p-m2xq-9rd');
    expect(parseRoomInput('/r/k7p-m2xq-9rd')).toBe('k7p-m2xq-9rd');
    expect(parseRoomInput('http://127.0.0.1:4000/r/k7p-m2xq-9rd')).toBe('k7p-m2xq-9rd');
    expect(parseRoomInput('https://peercode.example/r/abc/')).toBe('abc');
    expect(parseRoomInput('https://peercode.example/x/abc')).toBeNull();
    expect(parseRoomInput('not a room!')).toBeNull();
    expect(parseRoomInput('http://h/r/bad%20id')).toBeNull();
    expect(parseRoomInput('')).toBeNull();
  });

  test('links', () => {
    expect(roomPath('abc')).toBe('/r/abc');
    expect(inviteLink('http://127.0.0.1:4000', 'abc')).toBe('http://127.0.0.1:4000/r/abc');
  });
});

describe('joining by a pasted invite link', () => {
  const token = 'h1dBAH3x_-abcdefghijklmnopqrstuvwxyz0123456';
  test('keeps the link\'s invite token (a guest needs it), nothing else', () => {
    expect(parseJoinInput(`http://127.0.0.1:4000/r/k7p-m2xq-9rd?invite=${token}`)).toBe(`/r/k7p-m2xq-9rd?invite=${token}`);
    expect(parseJoinInput(`/r/abc?invite=${token}`)).toBe(`/r/abc?invite=${token}`);
    expect(parseJoinInput(`https://x.example/r/abc/?invite=${token}#top`)).toBe(`/r/abc?invite=${token}`);
    expect(parseJoinInput('https://x.example/r/abc?other=1')).toBe('/r/abc');
    expect(parseJoinInput('https://x.example/r/abc?invite=bad token')).toBe('/r/abc');
    expect(parseJoinInput(' k7p-m2xq-9rd ')).toBe('/r/k7p-m2xq-9rd');
    expect(parseJoinInput('not a room!')).toBeNull();
  });
});
