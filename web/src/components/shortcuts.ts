/** The app's keyboard shortcuts, in one table that both the handler and the help dialog read. */

export type ShortcutAction = 'newFile' | 'nextFile' | 'prevFile' | 'copyInvite' | 'toggleTheme' | 'showShortcuts';

export interface Shortcut {
  action: ShortcutAction;
  keys: string;
  what: string;
  /** KeyboardEvent.code with Alt held (layout-independent). */
  code: string;
}

export const APP_SHORTCUTS: readonly Shortcut[] = [
  { action: 'newFile', keys: 'Alt+N', what: 'New file', code: 'KeyN' },
  { action: 'nextFile', keys: 'Alt+]', what: 'Next file', code: 'BracketRight' },
  { action: 'prevFile', keys: 'Alt+[', what: 'Previous file', code: 'BracketLeft' },
  { action: 'copyInvite', keys: 'Alt+L', what: 'Copy invite link (the owner: share)', code: 'KeyL' },
  { action: 'toggleTheme', keys: 'Alt+T', what: 'Switch dark / light theme', code: 'KeyT' },
  { action: 'showShortcuts', keys: 'Alt+/', what: 'Show these shortcuts', code: 'Slash' },
];

export const EDITOR_SHORTCUTS: ReadonlyArray<{ keys: string; what: string }> = [
  { keys: 'Ctrl+F', what: 'Find' },
  { keys: 'Ctrl+H', what: 'Replace' },
  { keys: 'Ctrl+/', what: 'Toggle line comment' },
  { keys: 'Alt+↑ / Alt+↓', what: 'Move line up / down' },
  { keys: 'Ctrl+D', what: 'Select next occurrence' },
  { keys: 'Ctrl+Z / Ctrl+Shift+Z', what: 'Undo / redo (your own edits)' },
  { keys: 'F1', what: 'Command palette' },
];

export function shortcutFor(e: Pick<KeyboardEvent, 'altKey' | 'ctrlKey' | 'metaKey' | 'code'>): ShortcutAction | null {
  if (!e.altKey || e.ctrlKey || e.metaKey) return null;
  return APP_SHORTCUTS.find((s) => s.code === e.code)?.action ?? null;
}

/** The replay player's keys (as in asciinema-player), without modifiers; the dialog lists them. */
export type PlayerAction =
  | { kind: 'toggle' }
  | { kind: 'seekBy'; ms: number }
  | { kind: 'marker'; direction: 1 | -1 }
  | { kind: 'digit'; digit: number }
  | { kind: 'step'; direction: 1 | -1 };

export const PLAYER_SHORTCUTS: ReadonlyArray<{ keys: string; what: string }> = [
  { keys: 'Space', what: 'Play / pause' },
  { keys: '← / →', what: 'Back / forward 5 seconds' },
  { keys: '[ / ]', what: 'Previous / next marker (runs, joins, leaves, pastes)' },
  { keys: '0 – 9', what: 'Jump to 0 % – 90 % of the recording' },
  { keys: ', / .', what: 'Step back / forward one change (while paused)' },
];

/** The player action for a key press, or null (modifier keys held, or not one of ours). */
export function playerActionFor(e: Pick<KeyboardEvent, 'key' | 'altKey' | 'ctrlKey' | 'metaKey'>): PlayerAction | null {
  if (e.altKey || e.ctrlKey || e.metaKey) return null;
  switch (e.key) {
    case ' ':
    case 'Spacebar':
      return { kind: 'toggle' };
    case 'ArrowLeft':
      return { kind: 'seekBy', ms: -5000 };
    case 'ArrowRight':
      return { kind: 'seekBy', ms: 5000 };
    case '[':
      return { kind: 'marker', direction: -1 };
    case ']':
      return { kind: 'marker', direction: 1 };
    case ',':
      return { kind: 'step', direction: -1 };
    case '.':
      return { kind: 'step', direction: 1 };
    default:
      return /^[0-9]$/.test(e.key) ? { kind: 'digit', digit: Number(e.key) } : null;
  }
}
