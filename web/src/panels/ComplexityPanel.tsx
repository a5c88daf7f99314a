/** Per-function Big-O estimates of the open file, with the reasons; click to jump to a line. */
import { complexityRank, type FunctionReport } from '../lib/analysis';
import type { AnalysisState } from './useAnalysis';

interface Props {
  state: AnalysisState;
  file: string | undefined;
  onRetry: () => void;
  onReveal: (line: number) => void;
}

export function ComplexityPanel({ state, file, onRetry, onReveal }: Props) {
  const report = state.kind === 'ready' || state.kind === 'loading' ? state.report : null;
  return (
    <section className="panel complexity-panel" aria-labelledby="complexity-title" data-state={state.kind}>
      <header className="panel-header">
        <h2 id="complexity-title">Complexity</h2>
        <span className="panel-meta" aria-live="polite">
          {state.kind === 'loading' ? 'Analysing…' : state.kind === 'ready' ? (file ?? '') : ''}
        </span>
      </header>
      <div className="panel-body">
        {state.kind === 'unsupported' && (
          <p className="panel-note">
            Complexity analysis covers Python and JavaScript. This room is in {state.language.label}.
          </p>
        )}
        {state.kind === 'empty' && <p className="panel-note">Write some code to get a Big-O estimate per function.</p>}
        {state.kind === 'error' && (
          <div className="panel-error" role="alert">
            <p>{state.message}</p>
            <button type="button" className="btn btn-small" onClick={onRetry}>
              Try again
            </button>
          </div>
        )}
        {report && (
          <>
            {report.parse_errors.length > 0 && (
              <ul className="cx-parse-errors">
                {report.parse_errors.map((e, i) => (
                  <li key={`${e.line_start}-${i}`}>
                    <button type="button" className="linkish" onClick={() => onReveal(e.line_start)}>
                      Line {e.line_start}
                    </button>{' '}
                    {e.text}
                  </li>
                ))}
              </ul>
            )}
            {report.functions.length === 0 && <p className="panel-note">No functions in this file.</p>}
            <ul className="cx-list">
              {report.functions.map((f, i) => (
                <FunctionRow key={`${f.name}-${f.line_start}-${i}`} f={f} onReveal={onReveal} />
              ))}
              <FunctionRow f={report.top_level} onReveal={onReveal} topLevel />
            </ul>
          </>
        )}
      </div>
    </section>
  );
}

function FunctionRow({ f, onReveal, topLevel }: { f: FunctionReport; onReveal: (l: number) => void; topLevel?: boolean }) {
  const rank = complexityRank(f.complexity);
  return (
    <li className="cx-fn" data-function={f.name}>
      <div className="cx-fn-head">
        <button type="button" className="cx-fn-name linkish" onClick={() => onReveal(f.line_start)}>
          {topLevel ? 'top-level code' : f.name}
        </button>
        <span className="cx-lines">
          {f.line_start === f.line_end ? `line ${f.line_start}` : `lines ${f.line_start}–${f.line_end}`}
        </span>
        <span className={`cx-badge cx-rank-${rank ?? 'unknown'}`} title="Estimated time complexity">
          {f.complexity}
        </span>
      </div>
      {f.variables.length > 0 && (
        <p className="cx-vars">
          {f.variables.map((v, i) => (
            <span key={v.name}>
              {i > 0 && ', '}
              <code>{v.name}</code> = <Prose text={v.meaning} />
            </span>
          ))}
        </p>
      )}
      {f.unknown_reason && (
        <p className="cx-unknown">
          <Prose text={f.unknown_reason} />
        </p>
      )}
      {f.reasons.length > 0 && (
        <ul className="cx-reasons">
          {f.reasons.map((r, i) => (
            <li key={`${r.line_start}-${i}`}>
              <button type="button" className="linkish cx-line" onClick={() => onReveal(r.line_start)}>
                L{r.line_start}
              </button>
              <span>
                <Prose text={r.text} />
              </span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

/** The analyser's sentences mark code with backticks: show those as code. */
function Prose({ text }: { text: string }) {
  const parts = text.split(/`([^`]+)`/);
  return (
    <>
      {parts.map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}
    </>
  );
}
