/**
 * The one Monaco editor set-up the room and the replay player share: fonts, gutter, and the
 * narrow-screen layout (wrapped lines, a slimmer gutter) switched as the editor's width changes.
 */
import { monaco } from './monaco';

export function createEditor(host: HTMLElement, extra: monaco.editor.IStandaloneEditorConstructionOptions = {}): monaco.editor.IStandaloneCodeEditor {
  const editor = monaco.editor.create(host, {
    model: null,
    automaticLayout: true,
    glyphMargin: true,
    minimap: { enabled: false },
    fontSize: 14,
    lineHeight: 21,
    fontFamily: "'JetBrains Mono', 'Fira Code', 'Cascadia Code', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
    padding: { top: 22, bottom: 12 },
    scrollBeyondLastLine: false,
    renderLineHighlight: 'line',
    smoothScrolling: true,
    tabSize: 4,
    fixedOverflowWidgets: true,
    ariaLabel: 'Code editor',
    ...extra,
  });
  // Narrow screens: wrap long lines and give the gutter's width to the code.
  let narrow: boolean | null = null;
  const fit = (width: number) => {
    const isNarrow = width < 560;
    if (isNarrow === narrow) return;
    narrow = isNarrow;
    editor.updateOptions(
      isNarrow
        ? { wordWrap: 'on', folding: false, lineNumbersMinChars: 2, lineDecorationsWidth: 6, fontSize: 13 }
        : { wordWrap: 'off', folding: true, lineNumbersMinChars: 5, lineDecorationsWidth: 10, fontSize: 14 },
    );
  };
  fit(editor.getLayoutInfo().width);
  editor.onDidLayoutChange((info) => fit(info.width));
  return editor;
}
