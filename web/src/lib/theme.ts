/** Dark and light themes: an attribute on <html> that the CSS variables follow, remembered. */
import { useCallback, useSyncExternalStore } from 'react';
import { save } from './storage';

export type Theme = 'dark' | 'light';
const KEY = 'peercode.theme';
const listeners = new Set<() => void>();

function current(): Theme {
  return document.documentElement.dataset.theme === 'light' ? 'light' : 'dark';
}

export function setTheme(theme: Theme): void {
  // Switch at once, not with every button fading through its hover transition.
  const root = document.documentElement;
  root.classList.add('theme-switching');
  root.dataset.theme = theme;
  requestAnimationFrame(() => requestAnimationFrame(() => root.classList.remove('theme-switching')));
  save(KEY, theme);
  listeners.forEach((l) => l());
}

export function useTheme(): [Theme, () => void] {
  const theme = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    current,
    () => 'dark' as Theme,
  );
  const toggle = useCallback(() => setTheme(current() === 'dark' ? 'light' : 'dark'), []);
  return [theme, toggle];
}
