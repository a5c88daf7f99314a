/**
 * Other participants' cursors in our editor: the binding draws their selections and carets
 * (classes `yRemoteSelection-{client}` / `yRemoteSelectionHead-{client}`); this adds the
 * colour of each and a name label above each caret, as a Monaco content widget. The label
 * shows while its owner is active and shrinks to a small flag LABEL_IDLE_MS after their
 * last move, so it does not sit on the line above; hovering the flag shows the full name.
 */
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { monaco } from './monaco';
import { textOn, withAlpha } from '../lib/identity';

interface Label {
  widget: monaco.editor.IContentWidget;
  dom: HTMLElement;
  position: monaco.IPosition;
  /** Where their caret was last drawn (a move makes the label active again). */
  offset: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/** How long a label stays fully shown after its owner's last move. */
export const LABEL_IDLE_MS = 2000;
/** Longer names are cut with an ellipsis while shown (the full name is on hover). */
const LABEL_MAX_CHARS = 16;

const safeColor = (c: unknown) => (typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c) ? c : '#888888');

export class RemoteCursors {
  private labels = new Map<number, Label>();
  private style = document.createElement('style');
  private disposed = false;

  constructor(
    private editor: monaco.editor.IStandaloneCodeEditor,
    private awareness: Awareness,
    /** Where carets are resolved; the replay player swaps it when it loads another moment. */
    public doc: Y.Doc,
  ) {
    this.style.dataset.peercode = 'remote-cursors';
    document.head.appendChild(this.style);
    awareness.on('change', this.render);
  }

  /** The Y.Text the editor shows now (labels are only drawn for carets in it). */
  text: Y.Text | null = null;

  render = () => {
    if (this.disposed) return;
    const model = this.editor.getModel();
    const seen = new Set<number>();
    const css: string[] = [];
    this.awareness.getStates().forEach((state, clientId) => {
      if (clientId === this.doc.clientID) return;
      const user = (state.user ?? {}) as { name?: unknown; color?: unknown };
      const color = safeColor(user.color);
      css.push(
        `.yRemoteSelection-${clientId}{background-color:${withAlpha(color, 0.28)}}`,
        `.yRemoteSelectionHead-${clientId}{border-color:${color}}`,
      );
      const sel = state.selection as { head?: unknown } | null | undefined;
      if (!model || !this.text || !sel || sel.head == null) return;
      let abs: Y.AbsolutePosition | null = null;
      try {
        abs = Y.createAbsolutePositionFromRelativePosition(sel.head as Y.RelativePosition, this.doc);
      } catch {
        abs = null; // a malformed presence state from someone else: ignore it
      }
      if (!abs || abs.type !== this.text) return;
      const position = model.getPositionAt(abs.index);
      const name = typeof user.name === 'string' && user.name ? user.name : 'Anonymous';
      seen.add(clientId);
      this.place(clientId, name, color, position, abs.index);
    });
    for (const [id, label] of this.labels) {
      if (!seen.has(id)) {
        clearTimeout(label.idleTimer);
        this.editor.removeContentWidget(label.widget);
        this.labels.delete(id);
      }
    }
    this.style.textContent = css.join('\n');
  };

  private place(clientId: number, name: string, color: string, position: monaco.IPosition, offset: number) {
    let label = this.labels.get(clientId);
    if (!label) {
      const dom = document.createElement('div');
      dom.className = 'remote-cursor-label';
      dom.dataset.clientId = String(clientId);
      const text = document.createElement('span');
      text.className = 'remote-cursor-name';
      dom.appendChild(text);
      const l: Label = {
        dom,
        position,
        offset,
        idleTimer: undefined,
        widget: {
          getId: () => `peercode.cursor.${clientId}`,
          getDomNode: () => dom,
          getPosition: () => ({
            position: l.position,
            preference: [
              monaco.editor.ContentWidgetPositionPreference.ABOVE,
              monaco.editor.ContentWidgetPositionPreference.BELOW,
            ],
          }),
        },
      };
      label = l;
      this.labels.set(clientId, l);
      this.paint(l, name, color);
      this.editor.addContentWidget(l.widget);
      this.activate(l);
      return;
    }
    this.paint(label, name, color);
    const moved = label.offset !== offset || label.position.lineNumber !== position.lineNumber || label.position.column !== position.column;
    label.position = position;
    label.offset = offset;
    if (moved) {
      this.activate(label);
      this.editor.layoutContentWidget(label.widget);
    }
  }

  private paint(label: Label, name: string, color: string) {
    const text = label.dom.firstElementChild as HTMLElement;
    const short = Array.from(name).length > LABEL_MAX_CHARS ? `${Array.from(name).slice(0, LABEL_MAX_CHARS - 1).join('')}…` : name;
    if (text.textContent !== short) text.textContent = short;
    if (label.dom.dataset.name !== name) {
      label.dom.dataset.name = name;
      label.dom.title = name;
      label.dom.setAttribute('aria-label', name);
    }
    label.dom.style.backgroundColor = color;
    label.dom.style.color = textOn(color);
  }

  /** Fully shown now, a small flag after LABEL_IDLE_MS without a move. */
  private activate(label: Label) {
    label.dom.dataset.state = 'active';
    clearTimeout(label.idleTimer);
    label.idleTimer = setTimeout(() => {
      label.dom.dataset.state = 'idle';
    }, LABEL_IDLE_MS);
  }

  dispose() {
    this.disposed = true;
    this.awareness.off('change', this.render);
    for (const label of this.labels.values()) {
      clearTimeout(label.idleTimer);
      this.editor.removeContentWidget(label.widget);
    }
    this.labels.clear();
    this.style.remove();
  }
}
