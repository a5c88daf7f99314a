/**
 * Keeps a complexity report of the open file current, without ever slowing typing: it asks
 * `POST /api/analyze` a while after the last change (anyone's; 500 ms for a small file,
 * longer for a big one, see `analyzeDelay`), cancelling a request that a newer one replaces;
 * a file over the server's limit is not sent at all. Results are applied as a transition, so
 * React renders them around keystrokes, not in their way.
 */
import { startTransition, useCallback, useEffect, useState } from 'react';
import type * as Y from 'yjs';
import { analyze, analyzeDelay, AnalysisError, MAX_ANALYZE_BYTES, utf8Length, type AnalysisReport } from '../lib/analysis';
import type { Language } from '../lib/languages';

/** The debounce for a small file. */
export const ANALYZE_DEBOUNCE_MS = analyzeDelay(0);

export type AnalysisState =
  | { kind: 'unsupported'; language: Language }
  | { kind: 'empty' }
  | { kind: 'too-large'; bytes: number }
  | { kind: 'loading'; report: AnalysisReport | null }
  | { kind: 'ready'; report: AnalysisReport }
  | { kind: 'error'; message: string; report: AnalysisReport | null };

/**
 * `connected`: the room's connection is up. While it is down the server is unreachable, so
 * nothing is asked (the last report stays); it asks again when the connection is back.
 */
export function useAnalysis(text: Y.Text | undefined, language: Language, connected = true): [AnalysisState, () => void] {
  const [state, setState] = useState<AnalysisState>({ kind: 'empty' });
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    if (!language.analyzable) {
      setState({ kind: 'unsupported', language });
      return;
    }
    if (!text) {
      setState({ kind: 'empty' });
      return;
    }
    if (!connected) return;
    let controller: AbortController | null = null;
    let last: AnalysisReport | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      controller?.abort();
      const mine = new AbortController();
      controller = mine;
      const code = text.toString();
      if (code.trim() === '') {
        last = null;
        setState({ kind: 'empty' });
        return;
      }
      const bytes = utf8Length(code);
      if (bytes > MAX_ANALYZE_BYTES) {
        last = null;
        setState((s) => (s.kind === 'too-large' && s.bytes === bytes ? s : { kind: 'too-large', bytes }));
        return;
      }
      if (!navigator.onLine) {
        setState({ kind: 'error', message: 'You are offline: the estimate updates when the connection is back.', report: null });
        return;
      }
      setState({ kind: 'loading', report: last });
      try {
        const report = await analyze(language.id, code, mine.signal);
        if (mine.signal.aborted) return;
        last = report;
        startTransition(() => setState({ kind: 'ready', report }));
      } catch (e) {
        if (mine.signal.aborted) return;
        const message =
          e instanceof AnalysisError ? e.message : 'Something went wrong while asking for the analysis.';
        setState({ kind: 'error', message, report: null });
      }
    };
    // Per edit: one clearTimeout and one setTimeout, nothing else (Y.Text's length is O(1)).
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void run(), analyzeDelay(text.length));
    };
    text.observe(later);
    const onOnline = () => void run();
    window.addEventListener('online', onOnline);
    void run();
    return () => {
      window.removeEventListener('online', onOnline);
      clearTimeout(timer);
      text.unobserve(later);
      controller?.abort();
    };
  }, [text, language, retry, connected]);

  const again = useCallback(() => setRetry((n) => n + 1), []);
  return [state, again];
}
