/**
 * Per-function Big-O estimates of the open file, with the reasons; click to jump to a line.
 * Built to stay cheap on big files: one summary row per function, the reasons of a function
 * on demand (shown at once only for small reports), rows added a page at a time, and the
 * list re-rendered only when a new report arrives (not while the next one is on its way).
 */
import { memo, useState } from 'react';
import { complexityRank, MAX_ANALYZE_BYTES, parseErrorSummary, prettyComplexity, type AnalysisReport, type FunctionReport } from '../lib/analysis';
import type { AnalysisState } from './useAnalysis';

/** Reports with at most this many functions show every function's reasons at once. */
const EXPANDED_UP_TO = 12;
/** Rows shown at first, and added by "Show more". */
const PAGE = 50;

interface Props {
  state: AnalysisState;
  file: string | undefined;
  onRetry: () => void;
  onReveal: (line: number) => void;
}

export const ComplexityPanel = memo(function ComplexityPanel({ state, file, onRetry, onReveal }: Props) {
  const report = state.kind === 'ready' || state.kind === 'loading' ? state.report : null;
  return (
    <section className="panel complexity-panel" aria-labelledby="complexity-title" data-state={state.kind}>
      <header className="panel-header">
        <h2 id="complexity-title">Complexity</h2>
        <span className="panel-meta" aria-live="polite" title={file}>
          {state.kind === 'loading' ? 'Analysing…' : state.kind === 'ready' ? (file ?? '') : ''}
        </span>
      </header>
      <div className="panel-body">
        {state.kind === 'unsupported' && (
          <p className="panel-note">
            Complexity analysis covers Python and JavaScript. This file is in {state.language.label}.
          </p>
        )}
        {state.kind === 'empty' && <p className="panel-note">Write some code to get a Big-O estimate per function.</p>}
        {state.kind === 'too-large' && (
          <p className="panel-note cx-too-large" role="status">
            This file is too large to analyse: {formatKiB(state.bytes)}, and the analyser takes files up to{' '}
            {formatKiB(MAX_ANALYZE_BYTES)}. Split it into smaller files to get estimates.
          </p>
        )}
        {state.kind === 'error' && (
          <div className="panel-error" role="alert">
            <p>{state.message}</p>
            <button type="button" className="btn btn-small" onClick={onRetry}>
              Try again
            </button>
          </div>
        )}
        {report && <ReportView report={report} onReveal={onReveal} />}
      </div>
    </section>
  );
});

const formatKiB = (bytes: number) => `${Math.ceil(bytes / 1024)} KiB`;

/** Keyed by report: a new report starts from the first page again. */
const ReportView = memo(function ReportView({ report, onReveal }: { report: AnalysisReport; onReveal: (l: number) => void }) {
  const [shown, setShown] = useState(PAGE);
  const parse = parseErrorSummary(report);
  const expanded = report.functions.length <= EXPANDED_UP_TO;
  const rest = report.functions.length - shown;
  return (
    <>
      {parse && (
        <p className="cx-parse-error" role="note">
          <button type="button" className="linkish" onClick={() => onReveal(parse.line)}>
            Line {parse.line}
          </button>{' '}
          {parse.text}
        </p>
      )}
      {report.functions.length === 0 && <p className="panel-note">No functions in this file.</p>}
      {report.functions.length > EXPANDED_UP_TO && (
        <p className="panel-note cx-summary">
          {report.functions.length} functions. Open one to see why.
        </p>
      )}
      <ul className="cx-list">
        {report.functions.slice(0, shown).map((f, i) => (
          <FunctionRow key={`${f.name}-${f.line_start}-${i}`} f={f} onReveal={onReveal} expanded={expanded} />
        ))}
        {rest > 0 && (
          <li className="cx-more">
            <button type="button" className="btn btn-small" onClick={() => setShown((n) => n + PAGE)}>
              Show {Math.min(rest, PAGE)} more of {rest}
            </button>
          </li>
        )}
        <FunctionRow f={report.top_level} onReveal={onReveal} topLevel expanded={expanded} />
      </ul>
    </>
  );
});

function FunctionRow({ f, onReveal, topLevel, expanded }: { f: FunctionReport; onReveal: (l: number) => void; topLevel?: boolean; expanded: boolean }) {
  const [open, setOpen] = useState(expanded);
  const rank = complexityRank(f.complexity);
  const name = topLevel ? 'top-level code' : f.name;
  const lines = f.line_start === f.line_end ? `line ${f.line_start}` : `lines ${f.line_start}–${f.line_end}`;
  const details = f.reasons.length > 0 || f.variables.length > 0 || f.unknown_reason !== null;
  return (
    <li className="cx-fn" data-function={f.name}>
      <div className="cx-fn-head">
        <button type="button" className="cx-fn-name linkish" onClick={() => onReveal(f.line_start)} title={`${name} (${lines})`}>
          {name}
        </button>
        <span className="cx-lines">{lines}</span>
        <span className={`cx-badge cx-rank-${rank ?? 'unknown'}`} title={`Estimated time complexity: ${f.complexity}`}>
          {prettyComplexity(f.complexity)}
        </span>
        {details && !expanded && (
          <button
            type="button"
            className="icon-btn cx-toggle"
            aria-expanded={open}
            aria-label={`${open ? 'Hide' : 'Show'} why for ${name}`}
            title={open ? 'Hide why' : 'Show why'}
            onClick={() => setOpen((o) => !o)}
          >
            {open ? '▾' : '▸'}
          </button>
        )}
      </div>
      {open && <FunctionDetails f={f} onReveal={onReveal} />}
    </li>
  );
}

function FunctionDetails({ f, onReveal }: { f: FunctionReport; onReveal: (l: number) => void }) {
  return (
    <>
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
    </>
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
