/**
 * The one edit that turns a text into another: the span between their common prefix and
 * common suffix. The player edits the shown file by it when it loads another moment, so
 * the editor keeps its scroll position and only the changed lines are redrawn.
 */

export interface Span {
  /** Offsets in the old text. */
  start: number;
  end: number;
  /** What replaces old[start, end). */
  text: string;
}

export function changedSpan(before: string, after: string): Span | null {
  if (before === after) return null;
  const max = Math.min(before.length, after.length);
  let start = 0;
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  // Never split a surrogate pair.
  if (start > 0 && isHigh(before.charCodeAt(start - 1))) start--;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before.charCodeAt(endBefore - 1) === after.charCodeAt(endAfter - 1)) {
    endBefore--;
    endAfter--;
  }
  if (endBefore < before.length && isLow(before.charCodeAt(endBefore))) {
    endBefore++;
    endAfter++;
  }
  return { start, end: endBefore, text: after.slice(start, endAfter) };
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
