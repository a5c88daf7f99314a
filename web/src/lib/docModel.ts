/**
 * The room document convention of SPEC §2, shared with the server: `files` maps a path to
 * a `Y.Text`, `meta` holds `language` and `entry` (the file that runs). Every change to
 * the document's structure goes through here, each in one transaction.
 */
import * as Y from 'yjs';
import { DEFAULT_LANGUAGE, languageById, languageForPath, withExtension } from './languages';

export const DEFAULT_ENTRY = 'main.py';
export const MAX_PATH_LENGTH = 100;

export function filesOf(doc: Y.Doc): Y.Map<Y.Text> {
  return doc.getMap<Y.Text>('files');
}

export function metaOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>('meta');
}

export function roomLanguage(doc: Y.Doc): string {
  const l = metaOf(doc).get('language');
  return typeof l === 'string' ? l : DEFAULT_LANGUAGE;
}

export function entryFile(doc: Y.Doc): string | undefined {
  const e = metaOf(doc).get('entry');
  return typeof e === 'string' ? e : undefined;
}

/** Paths in tab order: the entry file first, then by name. */
export function sortedPaths(doc: Y.Doc): string[] {
  const entry = entryFile(doc);
  return Array.from(filesOf(doc).keys()).sort((a, b) => {
    if (a === entry) return -1;
    if (b === entry) return 1;
    return a.localeCompare(b);
  });
}

/**
 * The default content of a new room as one Yjs update, made by a fixed client id. Every
 * client that fills an empty room applies these same bytes, so two clients doing it at the
 * same time create the very same items: Yjs merges them into one `main.py`, and text typed
 * into it by either survives (two independently created Y.Texts would compete for the map
 * entry and one would be dropped).
 */
const DEFAULT_ROOM_UPDATE: Uint8Array = (() => {
  const seed = new Y.Doc();
  seed.clientID = 0;
  seed.transact(() => {
    seed.getMap<Y.Text>('files').set(DEFAULT_ENTRY, new Y.Text());
    seed.getMap('meta').set('language', DEFAULT_LANGUAGE);
    seed.getMap('meta').set('entry', DEFAULT_ENTRY);
  });
  const update = Y.encodeStateAsUpdate(seed);
  seed.destroy();
  return update;
})();

/**
 * Gives a room that is empty after its first sync the default `main.py` (the server does
 * this for new rooms; this covers a room that was emptied or a server that does not).
 * Only missing keys are written.
 */
export function ensureDefaults(doc: Y.Doc): void {
  const files = filesOf(doc);
  const meta = metaOf(doc);
  if (files.size > 0 && meta.has('language') && meta.has('entry')) return;
  if (files.size === 0 && !meta.has('language') && !meta.has('entry')) {
    Y.applyUpdate(doc, DEFAULT_ROOM_UPDATE, 'peercode:defaults');
    return;
  }
  doc.transact(() => {
    if (files.size === 0) files.set(DEFAULT_ENTRY, new Y.Text());
    if (!meta.has('entry')) meta.set('entry', sortedPaths(doc)[0] ?? DEFAULT_ENTRY);
    if (!meta.has('language')) {
      const entry = entryFile(doc) ?? DEFAULT_ENTRY;
      meta.set('language', languageForPath(entry)?.id ?? DEFAULT_LANGUAGE);
    }
  }, 'peercode:defaults');
}

/** Why a name cannot be used for a file, or null when it can. */
export function pathProblem(path: string, existing: Iterable<string>, except?: string): string | null {
  if (path.trim() === '') return 'Give the file a name.';
  if (path !== path.trim()) return 'A file name cannot start or end with a space.';
  if (path.length > MAX_PATH_LENGTH) return `A file name is at most ${MAX_PATH_LENGTH} characters.`;
  if (!/^[A-Za-z0-9._\-/ ]+$/.test(path)) return 'Use letters, digits, spaces and . _ - / only.';
  if (path.startsWith('/') || path.endsWith('/')) return 'A file name cannot start or end with /.';
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..'))
    return 'A path cannot contain empty, . or .. parts.';
  for (const p of existing) if (p === path && p !== except) return `There is already a file named ${path}.`;
  return null;
}

export function addFile(doc: Y.Doc, path: string, content = ''): void {
  const files = filesOf(doc);
  const problem = pathProblem(path, files.keys());
  if (problem) throw new Error(problem);
  doc.transact(() => {
    const text = new Y.Text();
    if (content) text.insert(0, content);
    files.set(path, text);
  }, 'peercode:files');
}

/**
 * Renames a file. A Y.Text cannot move between map keys, so this copies the text to a new
 * key and deletes the old one in one transaction; edits another participant makes to the
 * old file at the same instant are lost (they see the rename at once).
 */
export function renameFile(doc: Y.Doc, from: string, to: string): void {
  if (from === to) return;
  const files = filesOf(doc);
  const old = files.get(from);
  if (!old) throw new Error(`There is no file named ${from}.`);
  const problem = pathProblem(to, files.keys(), from);
  if (problem) throw new Error(problem);
  doc.transact(() => {
    const text = new Y.Text();
    text.insert(0, old.toString());
    files.delete(from);
    files.set(to, text);
    if (entryFile(doc) === from) metaOf(doc).set('entry', to);
  }, 'peercode:files');
}

export function deleteFile(doc: Y.Doc, path: string): void {
  const files = filesOf(doc);
  if (!files.has(path)) return;
  if (files.size <= 1) throw new Error('A room keeps at least one file.');
  doc.transact(() => {
    files.delete(path);
    if (entryFile(doc) === path) metaOf(doc).set('entry', sortedPaths(doc)[0] ?? DEFAULT_ENTRY);
  }, 'peercode:files');
}

export function setLanguage(doc: Y.Doc, language: string): void {
  if (roomLanguage(doc) === language && metaOf(doc).has('language')) return;
  metaOf(doc).set('language', language);
}

/** What switching the room to `language` would offer for its entry file, or null for nothing. */
export function entryOffer(doc: Y.Doc, language: string): { rename: string | null; starter: boolean } | null {
  const entry = entryFile(doc);
  const lang = languageById(language);
  if (entry === undefined || !filesOf(doc).has(entry) || lang.extension === 'txt') return null;
  const target = withExtension(entry, lang.extension);
  const rename = languageForPath(entry)?.id !== lang.id && target !== entry && !filesOf(doc).has(target) ? target : null;
  const starter = lang.starter !== '' && (filesOf(doc).get(entry)?.length ?? 0) === 0;
  return rename || starter ? { rename, starter } : null;
}

/**
 * Switches the room to `language` in one transaction: `meta.language`, and when asked the
 * entry file renamed to the language's extension and, if it is empty, given starter code.
 */
export function switchLanguage(doc: Y.Doc, language: string, opts: { renameEntry?: boolean; starter?: boolean } = {}): void {
  const lang = languageById(language);
  const offer = entryOffer(doc, language);
  doc.transact(() => {
    setLanguage(doc, language);
    let entry = entryFile(doc);
    if (entry === undefined) return;
    if (opts.renameEntry && offer?.rename) {
      renameFile(doc, entry, offer.rename);
      entry = offer.rename;
    }
    const text = filesOf(doc).get(entry);
    if (opts.starter && offer?.starter && text && text.length === 0) text.insert(0, lang.starter);
  }, 'peercode:language');
}

export function setEntry(doc: Y.Doc, path: string): void {
  if (!filesOf(doc).has(path)) return;
  metaOf(doc).set('entry', path);
}

/** A file name not yet taken: `untitled.py`, `untitled-2.py`, ... */
export function freshName(existing: Iterable<string>, extension: string): string {
  const taken = new Set(existing);
  for (let i = 1; ; i++) {
    const name = i === 1 ? `untitled.${extension}` : `untitled-${i}.${extension}`;
    if (!taken.has(name)) return name;
  }
}
