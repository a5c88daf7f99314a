import { describe, expect, test } from 'vitest';
import { analyze, AnalysisError, analyzeDelay, complexityRank, markersFor, parseErrorSummary, parseReport, prettyComplexity, utf8Length, type AnalysisReport } from '../../src/lib/analysis';

const fn = (over: Partial<AnalysisReport['functions'][number]> = {}) => ({
  name: 'two_sum',
  line_start: 1,
  line_end: 8,
  complexity: 'O(n^2)',
  unknown_reason: null,
  max_loop_depth: 2,
  reasons: [{ line_start: 3, line_end: 5, text: 'loop over `nums`: O(n)' }],
  ...over,
});
const REPORT = {
  language: 'python',
  functions: [fn()],
  top_level: fn({ name: '<module>', line_start: 1, line_end: 40, complexity: 'O(1)', max_loop_depth: 0, reasons: [] }),
  parse_errors: [{ line_start: 12, line_end: 12, text: 'syntax error' }],
};

function respond(status: number, body: unknown, contentType = 'application/json'): typeof fetch {
  return (async () =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': contentType },
    })) as typeof fetch;
}

describe('analysis contract', () => {
  test('the documented example parses', () => {
    const r = parseReport(REPORT);
    expect(r.functions[0]?.complexity).toBe('O(n^2)');
    expect(r.top_level.name).toBe('<module>');
    expect(r.parse_errors).toHaveLength(1);
  });

  test('variables are optional and kept when well-formed', () => {
    expect(parseReport(REPORT).functions[0]?.variables).toEqual([]);
    const r = parseReport({
      ...REPORT,
      functions: [{ ...fn(), variables: [{ name: 'n', meaning: 'size of `nums`' }, { name: 3 }] }],
    });
    expect(r.functions[0]?.variables).toEqual([{ name: 'n', meaning: 'size of `nums`' }]);
  });

  test('unknown complexity keeps its reason', () => {
    const r = parseReport({ ...REPORT, functions: [fn({ complexity: 'unknown', unknown_reason: 'Recursion depends on input.' })] });
    expect(r.functions[0]?.unknown_reason).toBe('Recursion depends on input.');
  });

  test('anything else is refused', () => {
    expect(() => parseReport(null)).toThrow(AnalysisError);
    expect(() => parseReport({ language: 'python', functions: [{ name: 1 }], top_level: fn() })).toThrow(AnalysisError);
    expect(() => parseReport({ ...REPORT, top_level: undefined })).toThrow(/not a complexity report/);
  });

  test('client: success, missing endpoint, HTML fallback, server errors, network failure', async () => {
    await expect(analyze('python', 'x', undefined, respond(200, REPORT))).resolves.toMatchObject({ language: 'python' });
    await expect(analyze('python', 'x', undefined, respond(404, 'nope', 'text/plain'))).rejects.toThrow(/does not offer/);
    await expect(analyze('python', 'x', undefined, respond(200, '<!doctype html>', 'text/html'))).rejects.toThrow(/does not offer/);
    await expect(analyze('python', 'x', undefined, respond(400, { error: 'code too large' }))).rejects.toThrow(
      'The analyser refused the code: code too large',
    );
    await expect(analyze('python', 'x', undefined, respond(500, { error: 'boom' }))).rejects.toThrow('The analyser failed (HTTP 500): boom');
    await expect(analyze('python', 'x', undefined, respond(502, 'bad gateway', 'text/plain'))).rejects.toThrow('The analyser failed (HTTP 502).');
    const down = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    await expect(analyze('python', 'x', undefined, down)).rejects.toThrow(/Could not reach/);
  });

  test('client sends the language and the code', async () => {
    let sent: unknown = null;
    const spy = (async (_url: string, init: RequestInit) => {
      sent = JSON.parse(String(init.body));
      return new Response(JSON.stringify(REPORT), { headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    await analyze('javascript', 'let x = 1', undefined, spy);
    expect(sent).toEqual({ language: 'javascript', code: 'let x = 1' });
  });

  test('markers: estimate per function, one glyph per reason line, parse errors; stale lines dropped', () => {
    const report = parseReport({
      ...REPORT,
      functions: [
        fn({
          reasons: [
            { line_start: 3, line_end: 5, text: 'loop A' },
            { line_start: 3, line_end: 6, text: 'loop B' },
            { line_start: 50, line_end: 51, text: 'beyond the end' },
          ],
        }),
      ],
    });
    const m = markersFor(report, 20);
    expect(m.filter((x) => x.kind === 'function')).toEqual([{ kind: 'function', line_start: 1, line_end: 1, text: 'O(n²)' }]);
    expect(m.filter((x) => x.kind === 'reason')).toEqual([{ kind: 'reason', line_start: 3, line_end: 6, text: 'loop A\nloop B' }]);
    expect(m.filter((x) => x.kind === 'error')).toEqual([{ kind: 'error', line_start: 12, line_end: 12, text: 'syntax error' }]);
    expect(markersFor(report, 10).some((x) => x.kind === 'error')).toBe(false);
  });

  test('parse errors become one marker at the first, and one sentence', () => {
    const report = parseReport({
      ...REPORT,
      parse_errors: [
        { line_start: 9, line_end: 9, text: 'syntax error' },
        { line_start: 4, line_end: 4, text: 'syntax error' },
        { line_start: 7, line_end: 7, text: 'syntax error' },
      ],
    });
    expect(markersFor(report, 20).filter((x) => x.kind === 'error')).toEqual([
      { kind: 'error', line_start: 4, line_end: 4, text: 'syntax error (and 2 more parse errors below)' },
    ]);
    expect(parseErrorSummary(report)?.line).toBe(4);
    expect(parseErrorSummary(report)?.text).toMatch(/^The code does not parse at line 4 \(and 2 more places\)/);
    expect(parseErrorSummary(parseReport({ ...REPORT, parse_errors: [] }))).toBeNull();
  });

  test('big files wait longer, and sizes are UTF-8 bytes', () => {
    expect(analyzeDelay(100)).toBe(500);
    expect(analyzeDelay(150_000)).toBeGreaterThan(1500);
    expect(analyzeDelay(10_000_000)).toBe(3000);
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
    expect(utf8Length('x'.repeat(300))).toBe(300);
  });

  test('O(n^2) reads O(n²)', () => {
    expect(prettyComplexity('O(n^2)')).toBe('O(n²)');
    expect(prettyComplexity('O(2^n)')).toBe('O(2ⁿ)');
    expect(prettyComplexity('O(n^3 log n)')).toBe('O(n³ log n)');
    expect(prettyComplexity('O(n * m)')).toBe('O(n * m)');
  });

  test('complexity ranks for colouring', () => {
    expect(complexityRank('O(1)')).toBe(0);
    expect(complexityRank('O(log n)')).toBe(1);
    expect(complexityRank('O(n)')).toBe(2);
    expect(complexityRank('O(n + m)')).toBe(2);
    expect(complexityRank('O(n log n)')).toBe(3);
    expect(complexityRank('O(n^2)')).toBe(4);
    expect(complexityRank('O(2^n)')).toBe(4);
    expect(complexityRank('unknown')).toBeNull();
  });
});
