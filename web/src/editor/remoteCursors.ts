/**
 * Other participants' cursors in our editor: y-monaco draws their selections and carets
 * (classes `yRemoteSelection-{client}` / `yRemoteSelectionHead-{client}`); this adds the
 * colour of each and a name label above each caret, as a Monaco content widget.
 */
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { monaco } from './monaco';
import { textOn, withAlpha } from '../lib/identity';

interface Label {
  widget: monaco.editor.IContentWidget;
  dom: HTMLElement;
  position: monaco.IPosition;
}

const safeColor = (c: unknown) => (typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c) ? c : '#888888');

export class RemoteCursors {
  private labels = new Map<number, Label>();
  private style = document.createElement('style');
  private disposed = false;

  constructor(
    private editor: monaco.editor.IStandaloneCodeEditor,
    private awareness: Awareness,
    private doc: Y.Doc,
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
      this.place(clientId, name, color, position);
    });
    for (const [id, label] of this.labels) {
      if (!seen.has(id)) {
        this.editor.removeContentWidget(label.widget);
        this.labels.delete(id);
      }
    }
    this.style.textContent = css.join('\n');
  };

  private place(clientId: number, name: string, color: string, position: monaco.IPosition) {
    let label = this.labels.get(clientId);
    if (!label) {
      const dom = document.createElement('div');
      dom.className = 'remote-cursor-label';
      dom.dataset.clientId = String(clientId);
      const l: Label = {
        dom,
        position,
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
      dom.textContent = name;
      dom.style.backgroundColor = color;
      dom.style.color = textOn(color);
      this.editor.addContentWidget(l.widget);
      return;
    }
    if (label.dom.textContent !== name) label.dom.textContent = name;
    label.dom.style.backgroundColor = color;
    label.dom.style.color = textOn(color);
    label.position = position;
    this.editor.layoutContentWidget(label.widget);
  }

  dispose() {
    this.disposed = true;
    this.awareness.off('change', this.render);
    for (const label of this.labels.values()) this.editor.removeContentWidget(label.widget);
    this.labels.clear();
    this.style.remove();
  }
}
