/**
 * The languages a room can be set to. The room's language (`meta.language`) decides the
 * syntax highlighting of every file for everyone, what the runner runs and what the
 * complexity analyser is asked about. Languages are data: add a row here.
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
}

export const LANGUAGES: readonly Language[] = [
  { id: 'python', label: 'Python', monaco: 'python', extension: 'py', analyzable: true },
  { id: 'javascript', label: 'JavaScript', monaco: 'javascript', extension: 'js', analyzable: true },
  { id: 'typescript', label: 'TypeScript', monaco: 'typescript', extension: 'ts', analyzable: false },
  { id: 'c', label: 'C', monaco: 'c', extension: 'c', analyzable: false },
  { id: 'cpp', label: 'C++', monaco: 'cpp', extension: 'cpp', analyzable: false },
  { id: 'rust', label: 'Rust', monaco: 'rust', extension: 'rs', analyzable: false },
  { id: 'go', label: 'Go', monaco: 'go', extension: 'go', analyzable: false },
  { id: 'java', label: 'Java', monaco: 'java', extension: 'java', analyzable: false },
];

export const DEFAULT_LANGUAGE = 'python';

/** A language by id; an unknown id (a newer client wrote it) is shown as plain text. */
export function languageById(id: string | undefined): Language {
  const known = LANGUAGES.find((l) => l.id === id);
  if (known) return known;
  return {
    id: id ?? DEFAULT_LANGUAGE,
    label: id ?? 'Plain text',
    monaco: 'plaintext',
    extension: 'txt',
    analyzable: false,
  };
}

/** The language a file's extension names, if any (used to guess a room's language). */
export function languageForPath(path: string): Language | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === undefined) return undefined;
  const aliases: Record<string, string> = { mjs: 'js', cjs: 'js', h: 'c', cc: 'cpp', hpp: 'cpp' };
  const canonical = aliases[ext] ?? ext;
  return LANGUAGES.find((l) => l.extension === canonical);
}
