/** Who this browser is in a room: a display name (remembered) and a colour. */
import { load, save } from './storage';

const NAME_KEY = 'peercode.name';
const COLOR_KEY = 'peercode.color';
const PERSON_KEY = 'peercode.person';
export const MAX_NAME_LENGTH = 32;

/** Distinct hues that read on both the dark and the light theme. */
export const PALETTE = [
  '#e5484d',
  '#f76b15',
  '#d6a700',
  '#30a46c',
  '#12a594',
  '#0090ff',
  '#6e56cf',
  '#d6409f',
  '#8e4ec6',
  '#46a758',
  '#3e63dd',
  '#e54666',
] as const;

export interface Identity {
  name: string;
  color: string;
}

/** Trims and bounds a display name; empty means "no name". */
export function cleanName(raw: string): string {
  return raw.replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_LENGTH);
}

export function savedName(): string | null {
  const name = cleanName(load(NAME_KEY) ?? '');
  return name === '' ? null : name;
}

export function saveName(name: string): void {
  save(NAME_KEY, cleanName(name));
}

export function savedColor(): string {
  const c = load(COLOR_KEY);
  if (c && (PALETTE as readonly string[]).includes(c)) return c;
  const picked = PALETTE[Math.floor(Math.random() * PALETTE.length)] ?? PALETTE[0];
  save(COLOR_KEY, picked);
  return picked;
}

/** `#rrggbb` with an alpha, for selection backgrounds. */
export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.min(1, Math.max(0, alpha)) * 255)
    .toString(16)
    .padStart(2, '0');
  return /^#[0-9a-fA-F]{6}$/.test(hex) ? hex + a : hex;
}

/** The first letters of up to two words, for avatars. */
export function initials(name: string): string {
  const words = cleanName(name).split(' ').filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

/** Black or white, whichever reads better on the given `#rrggbb` background (WCAG luminance). */
export function textOn(hex: string): '#000000' | '#ffffff' {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#ffffff';
  const lin = (c: string) => {
    const v = parseInt(c, 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(m[1]!) + 0.7152 * lin(m[2]!) + 0.0722 * lin(m[3]!);
  // Contrast with white is 1.05 / (l + 0.05); with black (l + 0.05) / 0.05.
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#ffffff' : '#000000';
}

/**
 * A random id for this browser profile, shared by its tabs (localStorage): the participant
 * list shows one person with a count, not the same name twice.
 */
export function personId(): string {
  const saved = load(PERSON_KEY);
  if (saved && /^[a-z0-9]{8,32}$/.test(saved)) return saved;
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  const id = Array.from(bytes, (b) => (b % 36).toString(36)).join('') + Date.now().toString(36).slice(-4);
  save(PERSON_KEY, id);
  return id;
}
