/**
 * The Monaco editor bound to one file of the room (our MonacoBinding, from y-monaco), with other participants'
 * cursors and the complexity markers. One editor instance; switching files swaps its model.
 */
import { useEffect, useRef } from 'react';
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { MonacoBinding } from './monacoBinding';
import { monaco } from './monaco';
import { RemoteCursors } from './remoteCursors';
import { createEditor } from './createEditor';
import type { Marker } from '../lib/analysis';
import type { Theme } from '../lib/theme';

export interface EditorApi {
  revealLine(line: number): void;
  focus(): void;
}

interface Props {
  doc: Y.Doc;
  awareness: Awareness;
  /** The open file and its text (undefined while the file list is loading). */
  path: string | undefined;
  text: Y.Text | undefined;
  monacoLanguage: string;
  theme: Theme;
  markers: Marker[];
  onReady?: (api: EditorApi | null) => void;
  /** A viewer's editor: shows and follows, never edits (Monaco refuses typing and pastes). */
  readOnly?: boolean;
}

let modelSerial = 0;

/** Markers are drawn this many lines above and below the visible ones. */
const MARKER_MARGIN_LINES = 150;

export function CodeEditor({ doc, awareness, path, text, monacoLanguage, theme, markers, onReady, readOnly = false }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const cursorsRef = useRef<RemoteCursors | null>(null);
  const decorationsRef = useRef<monaco.editor.IEditorDecorationsCollection | null>(null);
  /** Unbinds the open file (binding, model, our observers). */
  const detachRef = useRef<(() => void) | null>(null);
  const undoRef = useRef<Y.UndoManager | null>(null);
  const languageRef = useRef(monacoLanguage);
  languageRef.current = monacoLanguage;
  const readOnlyRef = useRef(readOnly);
  readOnlyRef.current = readOnly;

  // The editor itself, once.
  useEffect(() => {
    if (!host.current) return;
    const editor = createEditor(host.current);
    editorRef.current = editor;
    const { KeyMod, KeyCode } = monaco;
    // Undo writes the Y.Text directly, past Monaco's read-only: never for a viewer.
    const undo = () => !readOnlyRef.current && undoRef.current?.undo();
    const redo = () => !readOnlyRef.current && undoRef.current?.redo();
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyZ, undo);
    editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ, redo);
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyY, redo);
    cursorsRef.current = new RemoteCursors(editor, awareness, doc);
    decorationsRef.current = editor.createDecorationsCollection();
    onReady?.({
      revealLine: (line) => {
        editor.revealLineInCenter(line);
        editor.setPosition({ lineNumber: line, column: 1 });
        editor.focus();
      },
      focus: () => editor.focus(),
    });
    return () => {
      onReady?.(null);
      // React runs this before the open file's cleanup: detach the file first, once.
      detachRef.current?.();
      cursorsRef.current?.dispose();
      cursorsRef.current = null;
      editor.dispose();
      editorRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [doc, awareness]);

  // The open file: a fresh model bound to its Y.Text.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor || !text || path === undefined) return;
    const uri = monaco.Uri.from({ scheme: 'peercode', path: `/${++modelSerial}/${path}` });
    const model = monaco.editor.createModel(text.toString(), languageRef.current, uri);
    model.setEOL(monaco.editor.EndOfLineSequence.LF);
    editor.setModel(model);
    const binding = new MonacoBinding(text, model, new Set([editor]), awareness);
    // Undo and redo your own edits only (the binding's transactions have it as origin);
    // Monaco's own stack would also undo what others typed.
    const undo = new Y.UndoManager(text, { trackedOrigins: new Set([binding]), captureTimeout: 500 });
    undoRef.current = undo;
    const cursors = cursorsRef.current;
    if (cursors) {
      cursors.text = text;
      cursors.render();
    }
    const onText = () => cursors?.render();
    text.observe(onText);
    awareness.setLocalStateField('file', path);
    // The line count, for tests and styles, written to the DOM directly: no React render per edit.
    const hostEl = host.current;
    const showLines = () => hostEl?.setAttribute('data-lines', String(model.getLineCount()));
    showLines();
    const lines = model.onDidChangeContent(showLines);
    let detached = false;
    const detach = () => {
      if (detached) return;
      detached = true;
      lines.dispose();
      text.unobserve(onText);
      if (cursors) cursors.text = null;
      // Our caret was in this file: others must stop drawing it there.
      if (awareness.getLocalState() !== null) awareness.setLocalStateField('selection', null);
      if (undoRef.current === undo) undoRef.current = null;
      undo.destroy();
      binding.destroy();
      editor.setModel(null);
      model.dispose();
      cursors?.render();
    };
    detachRef.current = detach;
    return () => {
      detach();
      if (detachRef.current === detach) detachRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, path, awareness]);

  useEffect(() => {
    const model = editorRef.current?.getModel();
    if (model) monaco.editor.setModelLanguage(model, monacoLanguage);
  }, [monacoLanguage, text]);

  useEffect(() => {
    monaco.editor.setTheme(theme === 'light' ? 'peercode-light' : 'peercode-dark');
  }, [theme]);

  useEffect(() => {
    editorRef.current?.updateOptions({
      readOnly,
      readOnlyMessage: { value: 'You can view this room, not edit it: your role here is **viewer**.' },
    });
  }, [readOnly, doc, awareness]);

  // The markers near what is on screen only (a big file's report has thousands), refreshed
  // when scrolling leaves that window. A report may be older than the text: what lies past
  // the end is dropped, and Monaco keeps the rest in place as the text changes.
  useEffect(() => {
    const editor = editorRef.current;
    const model = editor?.getModel();
    if (!editor || !model) return;
    let window: [number, number] | null = null;
    const apply = () => {
      const visible = editor.getVisibleRanges();
      const first = visible[0]?.startLineNumber ?? 1;
      const last = visible.at(-1)?.endLineNumber ?? first;
      if (window && first >= window[0] && last <= window[1]) return;
      const lines = model.getLineCount();
      const lo = Math.max(1, first - MARKER_MARGIN_LINES);
      const hi = Math.min(lines, last + MARKER_MARGIN_LINES);
      window = [lo, hi];
      decorationsRef.current?.set(
        markers
          .filter((m) => m.line_start <= hi && Math.min(m.line_end, lines) >= lo)
          .flatMap((m) => toDecorations({ ...m, line_end: Math.min(m.line_end, lines) }, model)),
      );
    };
    apply();
    const scrolled = editor.onDidScrollChange(apply);
    return () => scrolled.dispose();
  }, [markers, text]);

  return <div className="editor-host" ref={host} data-language={monacoLanguage} data-file={path ?? ''} data-readonly={readOnly ? 'true' : undefined} />;
}

function toDecorations(m: Marker, model: monaco.editor.ITextModel): monaco.editor.IModelDeltaDecoration[] {
  switch (m.kind) {
    case 'function': {
      // The estimate goes after the end of the function's first line.
      const end = model.getLineMaxColumn(Math.min(m.line_start, model.getLineCount()));
      return [{
        range: new monaco.Range(m.line_start, end, m.line_start, end),
        options: {
          showIfCollapsed: true,
          after: { content: `  ${m.text}`, inlineClassName: 'cx-inline' },
          hoverMessage: { value: `Estimated complexity: **${m.text}**` },
        },
      }];
    }
    case 'reason':
      // A glyph with the reason on its first line, a thin bar beside the lines it covers.
      return [
        {
          range: new monaco.Range(m.line_start, 1, m.line_start, 1),
          options: {
            glyphMarginClassName: 'cx-glyph cx-glyph-reason',
            glyphMarginHoverMessage: { value: m.text },
          },
        },
        {
          range: new monaco.Range(m.line_start, 1, m.line_end, 1),
          options: { isWholeLine: true, linesDecorationsClassName: 'cx-span' },
        },
      ];
    case 'error':
      return [
        {
          range: new monaco.Range(m.line_start, 1, m.line_start, 1),
          options: { glyphMarginClassName: 'cx-glyph cx-glyph-error', glyphMarginHoverMessage: { value: m.text } },
        },
        {
          range: new monaco.Range(m.line_start, 1, m.line_end, Number.MAX_SAFE_INTEGER),
          options: { className: 'cx-error', hoverMessage: { value: m.text } },
        },
      ];
  }
}
