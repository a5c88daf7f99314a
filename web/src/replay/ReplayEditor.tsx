/**
 * The player's editor: read-only Monaco showing one file of the replayed document, with the
 * recorded cursors and selections drawn by the room's own binding and labels
 * (editor/monacoBinding.ts, editor/remoteCursors.ts) from the player's Awareness.
 *
 * The player swaps in a new Y.Doc whenever it loads another moment; the editor is made once
 * and keeps one model per file, edited to the new text by the span that differs, so the view
 * does not jump while scrubbing. Playing forward needs nothing of this: the binding applies
 * the document's changes to the model as they come.
 */
import { useEffect, useRef } from 'react';
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { monaco } from '../editor/monaco';
import { createEditor } from '../editor/createEditor';
import { MonacoBinding } from '../editor/monacoBinding';
import { RemoteCursors } from '../editor/remoteCursors';
import { changedSpan } from '../lib/replay/textEdit';
import type { Theme } from '../lib/theme';

interface Props {
  doc: Y.Doc;
  awareness: Awareness;
  path: string | undefined;
  text: Y.Text | undefined;
  monacoLanguage: string;
  theme: Theme;
}

let modelSerial = 0;

export function ReplayEditor({ doc, awareness, path, text, monacoLanguage, theme }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const cursorsRef = useRef<RemoteCursors | null>(null);
  const modelRef = useRef<{ path: string; model: monaco.editor.ITextModel } | null>(null);
  const viewStates = useRef(new Map<string, monaco.editor.ICodeEditorViewState | null>());
  const languageRef = useRef(monacoLanguage);
  languageRef.current = monacoLanguage;
  const docRef = useRef(doc);
  docRef.current = doc;

  // The editor, once.
  useEffect(() => {
    if (!host.current) return;
    const editor = createEditor(host.current, {
      readOnly: true,
      readOnlyMessage: { value: 'This is a recording. **Open a copy from here** to edit it.' },
      ariaLabel: 'Recorded code (read-only)',
    });
    editorRef.current = editor;
    cursorsRef.current = new RemoteCursors(editor, awareness, docRef.current);
    const states = viewStates.current;
    return () => {
      cursorsRef.current?.dispose();
      cursorsRef.current = null;
      modelRef.current?.model.dispose();
      modelRef.current = null;
      states.clear();
      editor.dispose();
      editorRef.current = null;
    };
  }, [awareness]);

  // The open file of the document shown.
  useEffect(() => {
    const editor = editorRef.current;
    const cursors = cursorsRef.current;
    const hostEl = host.current;
    if (!editor || !cursors) return;
    cursors.doc = doc;
    if (!text || path === undefined) {
      cursors.text = null;
      cursors.render();
      return;
    }
    const value = text.toString();
    let current = modelRef.current;
    if (current && current.path === path) {
      // Same file, another moment: change only what differs.
      const model = current.model;
      const span = changedSpan(model.getValue(), value);
      if (span) {
        const a = model.getPositionAt(span.start);
        const b = model.getPositionAt(span.end);
        model.applyEdits([{ range: new monaco.Range(a.lineNumber, a.column, b.lineNumber, b.column), text: span.text }]);
      }
    } else {
      if (current) {
        viewStates.current.set(current.path, editor.saveViewState());
        current.model.dispose();
      }
      const uri = monaco.Uri.from({ scheme: 'peercode-replay', path: `/${++modelSerial}/${path}` });
      const model = monaco.editor.createModel(value, languageRef.current, uri);
      model.setEOL(monaco.editor.EndOfLineSequence.LF);
      editor.setModel(model);
      const saved = viewStates.current.get(path);
      if (saved) editor.restoreViewState(saved);
      current = { path, model };
      modelRef.current = current;
    }
    const model = current.model;
    // No local state in the player's Awareness: the binding publishes nothing, only draws.
    const binding = new MonacoBinding(text, model, new Set([editor]), awareness);
    cursors.text = text;
    cursors.render();
    const onText = () => cursors.render();
    text.observe(onText);
    // The line count and length, for tests and styles, written to the DOM directly: no React render per edit.
    const showLines = () => {
      hostEl?.setAttribute('data-lines', String(model.getLineCount()));
      hostEl?.setAttribute('data-length', String(model.getValueLength()));
    };
    showLines();
    const lines = model.onDidChangeContent(showLines);
    return () => {
      lines.dispose();
      text.unobserve(onText);
      binding.destroy();
      cursors.text = null;
    };
  }, [doc, text, path, awareness]);

  useEffect(() => {
    const model = modelRef.current?.model;
    if (model) monaco.editor.setModelLanguage(model, monacoLanguage);
  }, [monacoLanguage, text]);

  useEffect(() => {
    monaco.editor.setTheme(theme === 'light' ? 'peercode-light' : 'peercode-dark');
  }, [theme]);

  return <div className="editor-host" ref={host} data-language={monacoLanguage} data-file={path ?? ''} data-readonly="true" />;
}
