/**
 * Client for the complexity analyser (`POST /api/analyze`) and the mapping of its report to
 * editor markers. The report's shape is the server's contract; anything else is an error
 * the panel shows, never a guess.
 */

export interface Span {
  line_start: number;
  line_end: number;
  text: string;
}

export interface FunctionReport {
  name: string;
  line_start: number;
  line_end: number;
  /** `O(...)` or `unknown`. */
  complexity: string;
  unknown_reason: string | null;
  max_loop_depth: number;
  reasons: Span[];
  /** What the letters in `complexity` stand for, e.g. `n`: size of `nums` (optional). */
  variables: Variable[];
}

export interface Variable {
  name: string;
  meaning: string;
}

export interface AnalysisReport {
  language: string;
  functions: FunctionReport[];
  top_level: FunctionReport;
  parse_errors: Span[];
}

export class AnalysisError extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isLine = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

function parseSpan(v: unknown): Span {
  if (!isObj(v) || !isLine(v.line_start) || !isLine(v.line_end) || typeof v.text !== 'string')
    throw new AnalysisError('bad span');
  return { line_start: v.line_start, line_end: v.line_end, text: v.text };
}

function parseFunction(v: unknown): FunctionReport {
  if (
    !isObj(v) ||
    typeof v.name !== 'string' ||
    !isLine(v.line_start) ||
    !isLine(v.line_end) ||
    typeof v.complexity !== 'string' ||
    !(v.unknown_reason === null || v.unknown_reason === undefined || typeof v.unknown_reason === 'string') ||
    !Array.isArray(v.reasons)
  )
    throw new AnalysisError('bad function');
  return {
    name: v.name,
    line_start: v.line_start,
    line_end: v.line_end,
    complexity: v.complexity,
    unknown_reason: typeof v.unknown_reason === 'string' ? v.unknown_reason : null,
    max_loop_depth: typeof v.max_loop_depth === 'number' ? v.max_loop_depth : 0,
    reasons: v.reasons.map(parseSpan),
    variables: Array.isArray(v.variables) ? v.variables.filter(isVariable) : [],
  };
}

const isVariable = (v: unknown): v is Variable =>
  isObj(v) && typeof v.name === 'string' && typeof v.meaning === 'string';

/** Checks a response body against the contract. */
export function parseReport(data: unknown): AnalysisReport {
  try {
    if (!isObj(data) || typeof data.language !== 'string' || !Array.isArray(data.functions))
      throw new AnalysisError('bad report');
    return {
      language: data.language,
      functions: data.functions.map(parseFunction),
      top_level: parseFunction(data.top_level),
      parse_errors: Array.isArray(data.parse_errors) ? data.parse_errors.map(parseSpan) : [],
    };
  } catch (e) {
    if (e instanceof AnalysisError)
      throw new AnalysisError('The analyser answered with something that is not a complexity report.');
    throw e;
  }
}

/** Asks the server for a report; every failure becomes an AnalysisError with a sentence for people. */
export async function analyze(
  language: string,
  code: string,
  signal?: AbortSignal,
  fetchImpl: typeof fetch = fetch,
): Promise<AnalysisReport> {
  let res: Response;
  try {
    res = await fetchImpl('/api/analyze', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ language, code }),
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new AnalysisError('Could not reach the server to analyse the code.');
  }
  const isJson = (res.headers.get('content-type') ?? '').includes('application/json');
  if (res.status === 404 || res.status === 405 || (res.ok && !isJson)) {
    throw new AnalysisError('This server does not offer complexity analysis yet.');
  }
  let body: unknown = null;
  if (isJson) {
    try {
      body = await res.json();
    } catch {
      throw new AnalysisError('The analyser sent a response that is not valid JSON.');
    }
  }
  if (!res.ok) {
    const msg = isObj(body) && typeof body.error === 'string' ? body.error : null;
    if (res.status >= 400 && res.status < 500 && msg) throw new AnalysisError(`The analyser refused the code: ${msg}`);
    throw new AnalysisError(`The analyser failed (HTTP ${res.status})${msg ? `: ${msg}` : '.'}`);
  }
  return parseReport(body);
}

export type MarkerKind = 'reason' | 'error' | 'function';

/** One thing to show in the editor's margin or inline, per line. */
export interface Marker {
  kind: MarkerKind;
  line_start: number;
  line_end: number;
  /** Hover text (reasons on the same line are joined). */
  text: string;
}

/**
 * The editor markers of a report: a complexity label on each function's first line, a glyph
 * on each reason's first line (several reasons on one line become one glyph), and the parse
 * errors. Lines past the end of the file (a stale report) are dropped.
 */
export function markersFor(report: AnalysisReport, lineCount: number): Marker[] {
  const out: Marker[] = [];
  const fits = (s: { line_start: number }) => s.line_start <= lineCount;
  for (const f of report.functions) {
    if (!fits(f)) continue;
    const label = f.complexity === 'unknown' ? 'complexity unknown' : prettyComplexity(f.complexity);
    out.push({ kind: 'function', line_start: f.line_start, line_end: f.line_start, text: label });
  }
  const byLine = new Map<number, Marker>();
  for (const f of [report.top_level, ...report.functions]) {
    for (const r of f.reasons) {
      if (!fits(r)) continue;
      const prev = byLine.get(r.line_start);
      if (prev) {
        if (!prev.text.split('\n').includes(r.text)) prev.text += `\n${r.text}`;
        prev.line_end = Math.max(prev.line_end, Math.min(r.line_end, lineCount));
      } else {
        byLine.set(r.line_start, {
          kind: 'reason',
          line_start: r.line_start,
          line_end: Math.min(r.line_end, lineCount),
          text: r.text,
        });
      }
    }
  }
  out.push(...Array.from(byLine.values()).sort((a, b) => a.line_start - b.line_start));
  // One marker for the parse errors, at the first one: a cascade of seventeen squiggles
  // says no more than the first.
  const errors = report.parse_errors.filter(fits).sort((a, b) => a.line_start - b.line_start);
  const e = errors[0];
  if (e) {
    const more = errors.length - 1;
    const text = more > 0 ? `${e.text} (and ${more} more parse error${more === 1 ? '' : 's'} below)` : e.text;
    out.push({ kind: 'error', line_start: e.line_start, line_end: Math.min(e.line_end, lineCount), text });
  }
  return out;
}

/** A rough rank of a complexity class, for colouring: 0 constant ... 4 polynomial or worse. */
export function complexityRank(c: string): number | null {
  const s = c.replace(/\s+/g, '').toLowerCase();
  if (s === 'unknown') return null;
  if (s === 'o(1)') return 0;
  if (/^o\((log|lg)\(?n\)?\)$/.test(s)) return 1;
  if (s === 'o(n)' || /^o\([a-z]\)$/.test(s) || /^o\([a-z]\+[a-z]\)$/.test(s)) return 2;
  if (/^o\(n\*?log/.test(s)) return 3;
  return 4;
}

/** The server's limit on `code` (crates/server/src/analyze.rs, MAX_SOURCE_BYTES). */
export const MAX_ANALYZE_BYTES = 256 * 1024;

/** The debounce for a small file; it grows with the file so analysis never crowds typing. */
export const BASE_ANALYZE_DELAY_MS = 500;

/**
 * How long after the last edit to ask for a report of a text of `length` characters: 500 ms
 * up to 20k characters, then 1 ms more per 100 characters, at most 3 s (a 5,000-line file,
 * ~150k characters, waits about 1.8 s).
 */
export function analyzeDelay(length: number): number {
  if (length <= 20_000) return BASE_ANALYZE_DELAY_MS;
  return Math.min(3000, BASE_ANALYZE_DELAY_MS + Math.round((length - 20_000) / 100));
}

/** UTF-8 size of a string, without allocating it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** `O(n^2)` as people write it: `O(n²)`; `2^n` keeps its caret only where no superscript exists. */
export function prettyComplexity(c: string): string {
  const sup: Record<string, string> = { '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', n: 'ⁿ', k: 'ᵏ', m: 'ᵐ' };
  return c.replace(/\^(\d+|[nkm])\b/g, (all, exp: string) => {
    const out = Array.from(exp, (ch) => sup[ch]).join('');
    return out.length === exp.length ? out : all;
  });
}

/**
 * The parse errors of a report as one sentence for people: the first place and how many
 * more, or null when the code parsed.
 */
export function parseErrorSummary(report: AnalysisReport): { line: number; text: string } | null {
  const errors = [...report.parse_errors].sort((a, b) => a.line_start - b.line_start);
  const first = errors[0];
  if (!first) return null;
  const more = errors.length - 1;
  return {
    line: first.line_start,
    text: `The code does not parse at line ${first.line_start}${more > 0 ? ` (and ${more} more place${more === 1 ? '' : 's'})` : ''}: the estimates below may be incomplete.`,
  };
}
