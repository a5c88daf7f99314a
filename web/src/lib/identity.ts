/** Who this browser is in a room: a display name (remembered) and a colour. */
import { load, save } from './storage';

const NAME_KEY = 'peercode.name';
const COLOR_KEY = 'peercode.color';
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
