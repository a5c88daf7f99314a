/** localStorage that never throws (private mode, quota, disabled storage). */

export function load(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function save(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // remembering is a convenience; the app works without it
  }
}
