/**
 * Keeps a complexity report of the open file current: asks `POST /api/analyze` 500 ms
 * after the last change (anyone's), cancelling a request that a newer one replaces.
 */
import { useEffect, useState } from 'react';
import type * as Y from 'yjs';
import { analyze, AnalysisError, type AnalysisReport } from '../lib/analysis';
import { debounce } from '../lib/debounce';
import type { Language } from '../lib/languages';

export const ANALYZE_DEBOUNCE_MS = 500;

export type AnalysisState =
  | { kind: 'unsupported'; language: Language }
  | { kind: 'empty' }
  | { kind: 'loading'; report: AnalysisReport | null }
  | { kind: 'ready'; report: AnalysisReport }
  | { kind: 'error'; message: string; report: AnalysisReport | null };

export function useAnalysis(text: Y.Text | undefined, language: Language): [AnalysisState, () => void] {
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
    let controller: AbortController | null = null;
    let last: AnalysisReport | null = null;
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
      if (!navigator.onLine) {
        setState({ kind: 'error', message: 'You are offline: the estimate updates when the connection is back.', report: null });
        return;
      }
      setState({ kind: 'loading', report: last });
      try {
        const report = await analyze(language.id, code, mine.signal);
        if (mine.signal.aborted) return;
        last = report;
        setState({ kind: 'ready', report });
      } catch (e) {
        if (mine.signal.aborted) return;
        const message =
          e instanceof AnalysisError ? e.message : 'Something went wrong while asking for the analysis.';
        setState({ kind: 'error', message, report: null });
      }
    };
    const later = debounce(() => void run(), ANALYZE_DEBOUNCE_MS);
    text.observe(later);
    const onOnline = () => void run();
    window.addEventListener('online', onOnline);
    void run();
    return () => {
      window.removeEventListener('online', onOnline);
      later.cancel();
      text.unobserve(later);
      controller?.abort();
    };
  }, [text, language, retry]);

  return [state, () => setRetry((n) => n + 1)];
}
