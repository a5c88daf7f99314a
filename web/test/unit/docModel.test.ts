import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import {
  addFile,
  deleteFile,
  ensureDefaults,
  entryFile,
  filesOf,
  freshName,
  metaOf,
  pathProblem,
  renameFile,
  roomLanguage,
  setLanguage,
  sortedPaths, entryOffer, switchLanguage } from '../../src/lib/docModel';
import { fileLanguage, withExtension } from '../../src/lib/languages';

/** Two replicas that exchange every update, like two browsers through the server. */
function pair(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b, u, 'remote'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(a, u, 'remote'));
  return [a, b];
}

describe('room document (SPEC §2)', () => {
  test('an empty room gets main.py, python and its entry', () => {
    const doc = new Y.Doc();
    ensureDefaults(doc);
    expect(sortedPaths(doc)).toEqual(['main.py']);
    expect(filesOf(doc).get('main.py')).toBeInstanceOf(Y.Text);
    expect(metaOf(doc).get('language')).toBe('python');
    expect(entryFile(doc)).toBe('main.py');
  });

  test('a room with files keeps them; only missing meta is filled', () => {
    const doc = new Y.Doc();
    addFile(doc, 'app.js', 'console.log(1)');
    ensureDefaults(doc);
    expect(sortedPaths(doc)).toEqual(['app.js']);
    expect(roomLanguage(doc)).toBe('javascript');
    expect(entryFile(doc)).toBe('app.js');
    setLanguage(doc, 'rust');
    ensureDefaults(doc);
    expect(roomLanguage(doc)).toBe('rust');
  });

  test('two clients filling the same empty room at once get one main.py and keep both texts', () => {
    const a = new Y.Doc();
    const b = new Y.Doc();
    ensureDefaults(a);
    ensureDefaults(b);
    filesOf(a).get('main.py')!.insert(0, 'print("a")\n');
    filesOf(b).get('main.py')!.insert(0, 'print("b")\n');
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    const text = filesOf(a).get('main.py')!.toString();
    expect(filesOf(b).get('main.py')!.toString()).toBe(text);
    expect(text).toContain('print("a")');
    expect(text).toContain('print("b")');
    expect(sortedPaths(a)).toEqual(['main.py']);
    expect(metaOf(a).toJSON()).toEqual({ language: 'python', entry: 'main.py' });
    expect(metaOf(b).toJSON()).toEqual(metaOf(a).toJSON());
  });

  test('filling again after the room changed does nothing', () => {
    const doc = new Y.Doc();
    ensureDefaults(doc);
    renameFile(doc, 'main.py', 'app.py');
    setLanguage(doc, 'go');
    ensureDefaults(doc);
    expect(sortedPaths(doc)).toEqual(['app.py']);
    expect(roomLanguage(doc)).toBe('go');
  });

  test('rename keeps the text, moves the entry, and replicates', () => {
    const [a, b] = pair();
    ensureDefaults(a);
    filesOf(a).get('main.py')!.insert(0, 'x = 1\n');
    renameFile(a, 'main.py', 'solution.py');
    expect(sortedPaths(b)).toEqual(['solution.py']);
    expect(filesOf(b).get('solution.py')!.toString()).toBe('x = 1\n');
    expect(entryFile(b)).toBe('solution.py');
  });

  test('rename and add refuse bad or taken names', () => {
    const doc = new Y.Doc();
    ensureDefaults(doc);
    addFile(doc, 'util.py');
    expect(() => renameFile(doc, 'util.py', 'main.py')).toThrow(/already a file/);
    expect(() => addFile(doc, 'main.py')).toThrow(/already a file/);
    expect(() => addFile(doc, '../x.py')).toThrow();
    expect(() => renameFile(doc, 'nope.py', 'x.py')).toThrow(/no file/);
    expect(sortedPaths(doc)).toEqual(['main.py', 'util.py']);
  });

  test('delete keeps at least one file and re-points the entry', () => {
    const doc = new Y.Doc();
    ensureDefaults(doc);
    addFile(doc, 'b.py');
    deleteFile(doc, 'main.py');
    expect(sortedPaths(doc)).toEqual(['b.py']);
    expect(entryFile(doc)).toBe('b.py');
    expect(() => deleteFile(doc, 'b.py')).toThrow(/at least one/);
  });

  test('tabs: entry first, then by name', () => {
    const doc = new Y.Doc();
    ensureDefaults(doc);
    addFile(doc, 'a.py');
    addFile(doc, 'z.py');
    expect(sortedPaths(doc)).toEqual(['main.py', 'a.py', 'z.py']);
  });

  test('path rules', () => {
    expect(pathProblem('src/util.py', [])).toBeNull();
    expect(pathProblem('', [])).toMatch(/name/);
    expect(pathProblem(' a.py', [])).toMatch(/space/);
    expect(pathProblem('/a.py', [])).toMatch(/start or end/);
    expect(pathProblem('a//b.py', [])).toMatch(/empty/);
    expect(pathProblem('a/../b.py', [])).toMatch(/\.\./);
    expect(pathProblem('a$.py', [])).toMatch(/letters/);
    expect(pathProblem('x'.repeat(101), [])).toMatch(/at most/);
    expect(pathProblem('a.py', ['a.py'])).toMatch(/already/);
    expect(pathProblem('a.py', ['a.py'], 'a.py')).toBeNull();
  });

  test('fresh names', () => {
    expect(freshName([], 'py')).toBe('untitled.py');
    expect(freshName(['untitled.py', 'untitled-2.py'], 'py')).toBe('untitled-3.py');
  });
});

describe('languages per file', () => {
  test('a file is in its extension language, else the room language', () => {
    expect(fileLanguage('main.py', 'javascript').id).toBe('python');
    expect(fileLanguage('lib/util.ts', 'python').id).toBe('typescript');
    expect(fileLanguage('Makefile', 'go').id).toBe('go');
    expect(withExtension('main.py', 'js')).toBe('main.js');
    expect(withExtension('src/a.b/Makefile', 'go')).toBe('src/a.b/Makefile.go');
  });

  test('switching an empty room renames the entry and inserts starter code, in one transaction', () => {
    const doc = new Y.Doc();
    ensureDefaults(doc);
    expect(entryOffer(doc, 'go')).toEqual({ rename: 'main.go', starter: true });
    let transactions = 0;
    doc.on('afterTransaction', () => transactions++);
    switchLanguage(doc, 'go', { renameEntry: true, starter: true });
    expect(transactions).toBe(1);
    expect(metaOf(doc).toJSON()).toEqual({ language: 'go', entry: 'main.go' });
    expect(Array.from(filesOf(doc).keys())).toEqual(['main.go']);
    expect(filesOf(doc).get('main.go')?.toString()).toMatch(/^package main/);
    expect(entryOffer(doc, 'go')).toBeNull();
  });

  test('code is never replaced; keeping the name only sets the language', () => {
    const doc = new Y.Doc();
    ensureDefaults(doc);
    filesOf(doc).get('main.py')?.insert(0, 'print(1)\n');
    expect(entryOffer(doc, 'javascript')).toEqual({ rename: 'main.js', starter: false });
    switchLanguage(doc, 'javascript');
    expect(metaOf(doc).toJSON()).toEqual({ language: 'javascript', entry: 'main.py' });
    switchLanguage(doc, 'javascript', { renameEntry: true, starter: true });
    expect(filesOf(doc).get('main.js')?.toString()).toBe('print(1)\n');
  });
});
