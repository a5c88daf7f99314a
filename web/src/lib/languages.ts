/**
 * The languages PeerCode knows. Each file is highlighted and analysed in the language of its
 * extension (`fileLanguage`); the room's language (`meta.language`) is what runs, and the
 * language of files whose extension names none. Languages are data: add a row here.
 */

export interface Language {
  /** The value stored in `meta.language`. */
  id: string;
  label: string;
  /** Monaco's language id for highlighting. */
  monaco: string;
  /** Extension of a new room's entry file in this language. */
  extension: string;
  /** `POST /api/analyze` understands it. */
  analyzable: boolean;
  /** What an empty entry file gets when the room switches to this language. */
  starter: string;
}

export const LANGUAGES: readonly Language[] = [
  { id: 'python', label: 'Python', monaco: 'python', extension: 'py', analyzable: true, starter: 'def main():\n    print("Hello from PeerCode")\n\n\nmain()\n' },
  { id: 'javascript', label: 'JavaScript', monaco: 'javascript', extension: 'js', analyzable: true, starter: 'function main() {\n  console.log("Hello from PeerCode");\n}\n\nmain();\n' },
  { id: 'typescript', label: 'TypeScript', monaco: 'typescript', extension: 'ts', analyzable: false, starter: 'function main(): void {\n  console.log("Hello from PeerCode");\n}\n\nmain();\n' },
  { id: 'c', label: 'C', monaco: 'c', extension: 'c', analyzable: false, starter: '#include <stdio.h>\n\nint main(void) {\n    printf("Hello from PeerCode\\n");\n    return 0;\n}\n' },
  { id: 'cpp', label: 'C++', monaco: 'cpp', extension: 'cpp', analyzable: false, starter: '#include <iostream>\n\nint main() {\n    std::cout << "Hello from PeerCode" << std::endl;\n    return 0;\n}\n' },
  { id: 'rust', label: 'Rust', monaco: 'rust', extension: 'rs', analyzable: false, starter: 'fn main() {\n    println!("Hello from PeerCode");\n}\n' },
  { id: 'go', label: 'Go', monaco: 'go', extension: 'go', analyzable: false, starter: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello from PeerCode")\n}\n' },
  { id: 'java', label: 'Java', monaco: 'java', extension: 'java', analyzable: false, starter: 'public class Main {\n    public static void main(String[] args) {\n        System.out.println("Hello from PeerCode");\n    }\n}\n' },
];

export const DEFAULT_LANGUAGE = 'python';

/** Rows made for unknown ids, one per id, so a language is always the same object. */
const unknown = new Map<string, Language>();

/** A language by id; an unknown id (a newer client wrote it) is shown as plain text. */
export function languageById(id: string | undefined): Language {
  const known = LANGUAGES.find((l) => l.id === id);
  if (known) return known;
  const key = id ?? '';
  let row = unknown.get(key);
  if (!row) {
    row = { id: id ?? DEFAULT_LANGUAGE, label: id ?? 'Plain text', monaco: 'plaintext', extension: 'txt', analyzable: false, starter: '' };
    unknown.set(key, row);
  }
  return row;
}

/** The language a file's extension names, if any. */
export function languageForPath(path: string): Language | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === undefined) return undefined;
  const aliases: Record<string, string> = { mjs: 'js', cjs: 'js', h: 'c', cc: 'cpp', hpp: 'cpp' };
  const canonical = aliases[ext] ?? ext;
  return LANGUAGES.find((l) => l.extension === canonical);
}

/** The language a file is highlighted and analysed in: its extension's, else the room's. */
export function fileLanguage(path: string | undefined, roomLanguageId: string | undefined): Language {
  return (path !== undefined ? languageForPath(path) : undefined) ?? languageById(roomLanguageId);
}

/** `main.py` with another extension: `main.js`. */
export function withExtension(path: string, extension: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  const stem = dot > slash + 1 ? path.slice(0, dot) : path;
  return `${stem}.${extension}`;
}
