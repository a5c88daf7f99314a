/**
 * Where a caret or selection sticks when someone else edits around it (Yjs relative
 * positions). A collapsed caret sticks to the character before it, so a remote insert at
 * the caret goes after what you typed and two people typing at one spot keep their
 * characters together (see editor/monacoBinding.ts). A range sticks inward on both ends.
 */
import * as Y from 'yjs';

/** Yjs association: -1 sticks to the character before the position, 0 (default) after. */
const ASSOC_LEFT = -1;
const ASSOC_RIGHT = 0;

export function relativeRange(type: Y.Text, startIndex: number, endIndex: number): { start: Y.RelativePosition; end: Y.RelativePosition } {
  if (startIndex === endIndex) {
    const at = Y.createRelativePositionFromTypeIndex(type, startIndex, ASSOC_LEFT);
    return { start: at, end: at };
  }
  return {
    start: Y.createRelativePositionFromTypeIndex(type, startIndex, ASSOC_RIGHT),
    end: Y.createRelativePositionFromTypeIndex(type, endIndex, ASSOC_LEFT),
  };
}
