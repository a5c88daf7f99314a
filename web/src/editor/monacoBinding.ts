/**
 * Binds a Monaco model to a Y.Text, two ways, and publishes the local selection in
 * awareness. Derived from y-monaco 0.1.6's `MonacoBinding` (MIT, © Kevin Jahns), kept here
 * because of one bug that matters in a shared editor; what changed and why:
 *
 * 1. **Same-spot typing.** Before a remote change is applied, y-monaco saves each local
 *    selection as Yjs relative positions made with the default association (to the
 *    character on the right). A remote insert exactly at the local caret lands before that
 *    character, so the caret is pushed past it, and two people typing at the same spot get
 *    `bAbAbA…`. Here a collapsed caret is associated to the left (the character you just
 *    typed), so a remote insert at your caret stays after it and your next character goes
 *    after your own. A range keeps its start associated right and its end left: it still
 *    covers exactly the characters it covered. The caret published in awareness follows the
 *    same rule, so others draw your caret after your own last character too.
 * 2. `destroy()` also removes the cursor-selection listener (y-monaco leaks one per binding,
 *    and the room makes a binding per opened file), and the remote carets it drew when the
 *    model lives on (the replay player binds one model to the document of each moment: a
 *    caret left behind would grow over text inserted at it).
 * 3. Remote carets are drawn in one pass per change (not once per editor per change), and
 *    not at all when nobody else has a selection in this file; and at once when the binding
 *    is made (y-monaco waits for the next change, so a file opened, or a replayed moment
 *    loaded, showed nobody's caret until someone moved).
 *
 * Everything else (the mutex that keeps the two directions from echoing, right-to-left
 * application of Monaco's changes, the `yRemoteSelection*` classes) is y-monaco's.
 */
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { createMutex, type mutex } from 'lib0/mutex';
import { monaco } from './monaco';
import { relativeRange } from '../lib/carets';

interface RelativeSelection {
  start: Y.RelativePosition;
  end: Y.RelativePosition;
  direction: monaco.SelectionDirection;
}

function saveSelection(editor: monaco.editor.ICodeEditor, model: monaco.editor.ITextModel, type: Y.Text): RelativeSelection | null {
  const sel = editor.getSelection();
  if (sel === null) return null;
  const { start, end } = relativeRange(type, model.getOffsetAt(sel.getStartPosition()), model.getOffsetAt(sel.getEndPosition()));
  return { start, end, direction: sel.getDirection() };
}

function restoreSelection(editor: monaco.editor.ICodeEditor, type: Y.Text, rsel: RelativeSelection, doc: Y.Doc): monaco.Selection | null {
  const start = Y.createAbsolutePositionFromRelativePosition(rsel.start, doc);
  const end = Y.createAbsolutePositionFromRelativePosition(rsel.end, doc);
  const model = editor.getModel();
  if (model === null || start === null || end === null || start.type !== type || end.type !== type) return null;
  const s = model.getPositionAt(start.index);
  const e = model.getPositionAt(Math.max(start.index, end.index));
  return monaco.Selection.createWithDirection(s.lineNumber, s.column, e.lineNumber, e.column, rsel.direction);
}

export class MonacoBinding {
  readonly doc: Y.Doc;
  private readonly mux: mutex = createMutex();
  private savedSelections = new Map<monaco.editor.IStandaloneCodeEditor, RelativeSelection>();
  private decorations = new Map<monaco.editor.IStandaloneCodeEditor, string[]>();
  private readonly disposables: monaco.IDisposable[] = [];
  private destroyed = false;

  constructor(
    readonly ytext: Y.Text,
    readonly model: monaco.editor.ITextModel,
    readonly editors: Set<monaco.editor.IStandaloneCodeEditor> = new Set(),
    readonly awareness: Awareness | null = null,
  ) {
    if (!ytext.doc) throw new Error('MonacoBinding: the Y.Text is not in a document');
    this.doc = ytext.doc;
    this.doc.on('beforeAllTransactions', this.beforeTransaction);
    ytext.observe(this.ytextObserver);
    const value = ytext.toString();
    if (model.getValue() !== value) model.setValue(value);
    this.disposables.push(
      model.onDidChangeContent((event) => {
        // Apply Monaco's changes from right to left, so earlier offsets stay valid.
        this.mux(() => {
          this.doc.transact(() => {
            [...event.changes]
              .sort((a, b) => b.rangeOffset - a.rangeOffset)
              .forEach((change) => {
                ytext.delete(change.rangeOffset, change.rangeLength);
                ytext.insert(change.rangeOffset, change.text);
              });
          }, this);
        });
      }),
      model.onWillDispose(() => this.destroy()),
    );
    if (awareness) {
      editors.forEach((editor) => {
        this.disposables.push(editor.onDidChangeCursorSelection(() => this.publishSelection(editor)));
      });
      awareness.on('change', this.rerenderDecorations);
      this.rerenderDecorations();
    }
  }

  private beforeTransaction = () => {
    this.mux(() => {
      this.savedSelections = new Map();
      this.editors.forEach((editor) => {
        if (editor.getModel() !== this.model) return;
        const rsel = saveSelection(editor, this.model, this.ytext);
        if (rsel !== null) this.savedSelections.set(editor, rsel);
      });
    });
  };

  private ytextObserver = (event: Y.YTextEvent) => {
    this.mux(() => {
      let index = 0;
      // Offsets in one delta refer to the text as each op leaves it: apply them in order.
      for (const op of event.delta) {
        if (op.retain !== undefined) {
          index += op.retain;
        } else if (op.insert !== undefined) {
          const insert = typeof op.insert === 'string' ? op.insert : '';
          const pos = this.model.getPositionAt(index);
          this.model.applyEdits([{ range: new monaco.Range(pos.lineNumber, pos.column, pos.lineNumber, pos.column), text: insert }]);
          index += insert.length;
        } else if (op.delete !== undefined) {
          const pos = this.model.getPositionAt(index);
          const end = this.model.getPositionAt(index + op.delete);
          this.model.applyEdits([{ range: new monaco.Range(pos.lineNumber, pos.column, end.lineNumber, end.column), text: '' }]);
        }
      }
      this.savedSelections.forEach((rsel, editor) => {
        const sel = restoreSelection(editor, this.ytext, rsel, this.doc);
        if (sel !== null) editor.setSelection(sel);
      });
    });
    this.rerenderDecorations();
  };

  private publishSelection(editor: monaco.editor.IStandaloneCodeEditor) {
    if (!this.awareness || editor.getModel() !== this.model) return;
    const sel = editor.getSelection();
    if (sel === null) return;
    const { start, end } = relativeRange(this.ytext, this.model.getOffsetAt(sel.getStartPosition()), this.model.getOffsetAt(sel.getEndPosition()));
    const rtl = sel.getDirection() === monaco.SelectionDirection.RTL;
    this.awareness.setLocalStateField('selection', rtl ? { anchor: end, head: start } : { anchor: start, head: end });
  }

  private rerenderDecorations = () => {
    if (this.destroyed) return;
    const awareness = this.awareness;
    const next: monaco.editor.IModelDeltaDecoration[] = [];
    if (awareness) {
      awareness.getStates().forEach((state, clientID) => {
        const sel = state.selection as { anchor?: unknown; head?: unknown } | null | undefined;
        if (clientID === this.doc.clientID || sel == null || sel.anchor == null || sel.head == null) return;
        let anchorAbs: Y.AbsolutePosition | null;
        let headAbs: Y.AbsolutePosition | null;
        try {
          anchorAbs = Y.createAbsolutePositionFromRelativePosition(sel.anchor as Y.RelativePosition, this.doc);
          headAbs = Y.createAbsolutePositionFromRelativePosition(sel.head as Y.RelativePosition, this.doc);
        } catch {
          return; // a malformed presence state from someone else
        }
        if (anchorAbs === null || headAbs === null || anchorAbs.type !== this.ytext || headAbs.type !== this.ytext) return;
        const headFirst = headAbs.index < anchorAbs.index;
        const start = this.model.getPositionAt(headFirst ? headAbs.index : anchorAbs.index);
        const end = this.model.getPositionAt(headFirst ? anchorAbs.index : headAbs.index);
        const head = `yRemoteSelectionHead yRemoteSelectionHead-${clientID}`;
        next.push({
          range: new monaco.Range(start.lineNumber, start.column, end.lineNumber, end.column),
          options: {
            className: `yRemoteSelection yRemoteSelection-${clientID}`,
            afterContentClassName: headFirst ? null : head,
            beforeContentClassName: headFirst ? head : null,
          },
        });
      });
    }
    this.editors.forEach((editor) => {
      if (editor.getModel() !== this.model) {
        this.decorations.delete(editor);
        return;
      }
      const current = this.decorations.get(editor) ?? [];
      if (current.length === 0 && next.length === 0) return;
      this.decorations.set(editor, editor.deltaDecorations(current, next));
    });
  };

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.decorations.forEach((ids, editor) => {
      if (editor.getModel() === this.model && !this.model.isDisposed()) editor.deltaDecorations(ids, []);
    });
    this.decorations.clear();
    for (const d of this.disposables) d.dispose();
    this.ytext.unobserve(this.ytextObserver);
    this.doc.off('beforeAllTransactions', this.beforeTransaction);
    this.awareness?.off('change', this.rerenderDecorations);
  }
}
