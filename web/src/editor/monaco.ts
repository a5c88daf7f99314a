/**
 * Monaco, bundled (no CDN): the editor API, its editor features, the tokenizers of the
 * room languages, and the one web worker the editor needs, built by Vite. Language services
 * (the TypeScript worker and friends) are left out on purpose: highlighting is all we need.
 */
import * as monaco from 'monaco-editor/editor/editor.api.js';
import 'monaco-editor/features/register.all.js';
import 'monaco-editor/languages/definitions/python/register.js';
import 'monaco-editor/languages/definitions/javascript/register.js';
import 'monaco-editor/languages/definitions/typescript/register.js';
import 'monaco-editor/languages/definitions/cpp/register.js';
import 'monaco-editor/languages/definitions/rust/register.js';
import 'monaco-editor/languages/definitions/go/register.js';
import 'monaco-editor/languages/definitions/java/register.js';
import EditorWorker from 'monaco-editor/editor/editor.worker.js?worker';

self.MonacoEnvironment = {
  getWorker: () => new EditorWorker(),
};

monaco.editor.defineTheme('peercode-dark', {
  base: 'vs-dark',
  inherit: true,
  rules: [],
  colors: {
    'editor.background': '#12151b',
    'editor.lineHighlightBackground': '#1a1f28',
    'editorLineNumber.foreground': '#4b5563',
    'editorLineNumber.activeForeground': '#a3acb9',
    'editorGutter.background': '#12151b',
    'editorWidget.background': '#1a1e26',
  },
});

monaco.editor.defineTheme('peercode-light', {
  base: 'vs',
  inherit: true,
  rules: [],
  colors: {
    'editor.background': '#ffffff',
    'editor.lineHighlightBackground': '#f4f5f8',
    'editorLineNumber.foreground': '#a0a7b4',
    'editorLineNumber.activeForeground': '#3f4652',
  },
});

export { monaco };
