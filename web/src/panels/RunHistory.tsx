/** The room's earlier runs, newest first (the server keeps 20): click one to see its output. */
import { formatClock, formatMs, runLabel, verdictTone, type RunInfo } from '../lib/runs';

interface Props {
  runs: readonly RunInfo[];
  selected: string | undefined;
  onSelect: (id: string) => void;
}

export function RunHistory({ runs, selected, onSelect }: Props) {
  const now = Date.now();
  return (
    <nav className="run-history" aria-label="Run history">
      <h3 className="run-stream-label">History</h3>
      <ol>
        {runs.map((r) => (
          <li key={r.id}>
            <button
              type="button"
              className={`run-history-item${r.id === selected ? ' active' : ''}`}
              aria-current={r.id === selected ? 'true' : undefined}
              data-run={r.id}
              data-verdict={r.status === 'done' ? (r.verdict ?? 'unknown') : r.status}
              onClick={() => onSelect(r.id)}
            >
              <span className={`run-dot tone-${r.status === 'done' ? verdictTone(r.verdict) : 'running'}`} aria-hidden="true" />
              <span className="run-history-verdict">{runLabel(r)}</span>
              <span className="run-history-meta">
                <span className="run-history-who">{r.startedBy}</span>
                {r.startedAt !== null && (
                  <>
                    {' · '}
                    <time dateTime={new Date(r.startedAt).toISOString()}>{formatClock(r.startedAt, now)}</time>
                  </>
                )}
                {r.status === 'done' && r.wallMs !== null && <> · {formatMs(r.wallMs)}</>}
              </span>
            </button>
          </li>
        ))}
      </ol>
    </nav>
  );
}
