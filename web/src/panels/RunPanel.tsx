/**
 * Running the room's code: the file that runs (`meta.entry`), Run / Stop (Ctrl/Cmd+Enter
 * runs), optional stdin, and the output everyone in the room sees live. The document's
 * `runs` map is the truth (a run someone else started turns our button into Stop); this
 * panel only asks the server to start or stop runs over HTTP and never writes into `runs`.
 * One bar until the room's first run. Read-only (the replay player), it shows the runs as
 * the document it is given holds them, with nothing to start, stop or type.
 */
import { useEffect, useRef, useState } from 'react';
import type * as Y from 'yjs';
import { currentRun, exitSummary, formatClock, outputOf, runLabel, startRun, stopRun, usageSummary, verdictTone } from '../lib/runs';
import { useRuns } from './useRuns';
import { RunOutput } from './RunOutput';
import { RunHistory } from './RunHistory';

interface Props {
  room: string;
  doc: Y.Doc | undefined;
  /** The first sync is done: the server has our view of the files. */
  synced: boolean;
  /** Our display name, sent as the run's `started_by`. */
  name: string;
  files: string[];
  entry: string | undefined;
  onEntryChange: (path: string) => void;
  /** Shows only: no Run, Stop, stdin or entry picker, and no Ctrl+Enter. */
  readOnly?: boolean;
  /** With readOnly: a disabled Run button that says why (a viewer in a live room). */
  runDisabledReason?: string;
  /** Query parameters for the runs routes (a guest's invite link). */
  query?: string;
}

/** How long "Starting…" waits for the run to appear in the document before giving up on it. */
const START_WAIT_MS = 8000;

export function RunPanel({ room, doc, synced, name, files, entry, onEntryChange, readOnly = false, runDisabledReason, query = '' }: Props) {
  const { map, list } = useRuns(doc);
  const going = currentRun(list);
  const [busy, setBusy] = useState<'start' | 'stop' | null>(null);
  /** A run we started that the document does not show yet. */
  const [awaiting, setAwaiting] = useState<string | null>(null);
  /** A run we asked to stop that is not done yet. */
  const [stopping, setStopping] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stdinOpen, setStdinOpen] = useState(false);
  const [stdin, setStdin] = useState('');
  /** The run picked in the history; otherwise the newest is shown. */
  const [picked, setPicked] = useState<string | null>(null);

  const newest = list[0];
  const shown = list.find((r) => r.id === picked) ?? newest;

  // A new run (anyone's) takes the view: everyone watches the same output.
  const lastNewest = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (newest?.id !== lastNewest.current) {
      lastNewest.current = newest?.id;
      setPicked(null);
    }
  }, [newest?.id]);

  useEffect(() => {
    if (awaiting === null) return;
    if (list.some((r) => r.id === awaiting)) {
      setAwaiting(null);
      return;
    }
    const t = setTimeout(() => setAwaiting(null), START_WAIT_MS);
    return () => clearTimeout(t);
  }, [awaiting, list]);

  useEffect(() => {
    if (stopping !== null && !list.some((r) => r.id === stopping && r.status !== 'done')) setStopping(null);
  }, [stopping, list]);

  const canRun = !readOnly && doc !== undefined && synced && !going && busy === null && awaiting === null;

  const run = async () => {
    if (!canRun) return;
    setBusy('start');
    setError(null);
    const result = await startRun(room, { stdin: stdinOpen ? stdin : '', name }, fetch, query);
    setBusy(null);
    if (result.ok) setAwaiting(result.value);
    else setError(result.message);
  };

  const stop = async () => {
    if (!going || busy !== null) return;
    setBusy('stop');
    setError(null);
    const result = await stopRun(room, going.id, fetch, query);
    setBusy(null);
    if (result.ok) setStopping(going.id);
    // It ended by itself meanwhile: nothing to say.
    else if (!/already finished/.test(result.message)) setError(result.message);
  };

  // Ctrl/Cmd+Enter runs from anywhere in the room, the editor included (before Monaco
  // sees it). It never stops a run: that takes the button.
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    if (readOnly) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
      e.preventDefault();
      e.stopPropagation();
      void runRef.current();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [readOnly]);

  const expanded = list.length > 0 || (!readOnly && (stdinOpen || error !== null || busy === 'start' || awaiting !== null));
  const state = going ? 'running' : busy === 'start' || awaiting !== null ? 'starting' : 'idle';

  let button;
  if (readOnly && runDisabledReason) {
    button = (
      // A disabled button gets no hover events: the tooltip sits on its wrapper.
      <span className="run-disabled" title={runDisabledReason} tabIndex={0} aria-label={`Run: ${runDisabledReason}`}>
        <button type="button" className="btn btn-primary btn-small run-button" disabled aria-disabled="true">
          ▶ Run
        </button>
      </span>
    );
  } else if (readOnly) {
    button = null;
  } else if (going) {
    const isStopping = stopping === going.id || busy === 'stop';
    button = (
      <button
        type="button"
        className="btn btn-danger btn-small run-button"
        onClick={() => void stop()}
        disabled={isStopping}
        title={going.startedBy === name ? 'Stop the run' : `Stop the run ${going.startedBy} started`}
      >
        {isStopping ? 'Stopping…' : '■ Stop'}
      </button>
    );
  } else {
    button = (
      <button
        type="button"
        className="btn btn-primary btn-small run-button"
        onClick={() => void run()}
        disabled={!canRun}
        title="Run the room's code for everyone (Ctrl+Enter)"
      >
        {state === 'starting' ? 'Starting…' : '▶ Run'}
      </button>
    );
  }

  const shownGoing = shown !== undefined && shown.status !== 'done';
  const usage = shown ? usageSummary(shown) : null;
  const ending = shown ? exitSummary(shown) : null;

  return (
    <section
      className={`panel run-panel${expanded ? ' expanded' : ' compact'}`}
      aria-labelledby="run-title"
      data-state={state}
      data-expanded={expanded ? 'true' : 'false'}
    >
      <header className="panel-header">
        <h2 id="run-title">Run</h2>
        {going && (
          <span className="run-live" role="status">
            <span className="run-spinner" aria-hidden="true" />
            {going.startedBy === name ? 'Running…' : `${going.startedBy} is running the code…`}
          </span>
        )}
        {readOnly ? (
          <span className="run-entry" title="The file that runs">
            {list.length === 0 && !runDisabledReason && <span className="run-note">No runs yet at this moment · </span>}
            <span>Runs</span>
            <code>{entry ?? '—'}</code>
          </span>
        ) : (
          <>
            <label className="run-entry">
              <span>Runs</span>
              <select value={entry ?? ''} onChange={(e) => onEntryChange(e.target.value)} aria-label="File that runs">
                {files.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              className={`btn btn-small run-stdin-toggle${stdinOpen ? ' active' : ''}`}
              aria-expanded={stdinOpen}
              aria-controls="run-stdin"
              onClick={() => setStdinOpen((o) => !o)}
              title="Give the program input on stdin"
            >
              stdin{stdinOpen && stdin !== '' ? ' •' : ''}
            </button>
          </>
        )}
        {button}
      </header>
      {expanded && (
        <div className="panel-body run-body">
          {stdinOpen && !readOnly && (
            <label className="run-stdin">
              <span className="run-stream-label">stdin (sent when you press Run)</span>
              <textarea
                id="run-stdin"
                value={stdin}
                onChange={(e) => setStdin(e.target.value)}
                spellCheck={false}
                rows={3}
                placeholder="Input for the program…"
                aria-label="Program input (stdin)"
              />
            </label>
          )}
          {error !== null && (
            <div className="panel-error run-error" role="alert">
              <p>{error}</p>
              <button type="button" className="btn btn-small" onClick={() => setError(null)}>
                Dismiss
              </button>
            </div>
          )}
          {shown && map && (
            <div className="run-main">
              <div className="run-result" data-run={shown.id}>
                <div className="run-summary" aria-live="polite">
                  <span
                    className={`run-verdict tone-${shownGoing ? 'running' : verdictTone(shown.verdict)}`}
                    data-verdict={shownGoing ? shown.status : (shown.verdict ?? 'unknown')}
                  >
                    {shownGoing && <span className="run-spinner" aria-hidden="true" />}
                    {runLabel(shown)}
                  </span>
                  {ending && <span className="run-exit">{ending}</span>}
                  {usage && <span className="run-usage">{usage}</span>}
                  <span className="run-by">
                    by {shown.startedBy}
                    {shown.startedAt !== null && <> · {formatClock(shown.startedAt, Date.now())}</>}
                  </span>
                </div>
                {shown.message && <p className="run-message">{shown.message}</p>}
                <div className="run-streams">
                  <RunOutput
                    key={`${shown.id}:stdout`}
                    text={outputOf(map, shown.id, 'stdout')}
                    stream="stdout"
                    label="Output"
                    emptyNote={shownGoing ? 'Waiting for output…' : 'No output.'}
                  />
                  <RunOutput key={`${shown.id}:stderr`} text={outputOf(map, shown.id, 'stderr')} stream="stderr" label="stderr" emptyNote={null} />
                </div>
              </div>
              {list.length > 1 && <RunHistory runs={list} selected={shown.id} onSelect={setPicked} />}
            </div>
          )}
          {!shown && !error && !stdinOpen && <p className="panel-note">Starting the first run…</p>}
        </div>
      )}
    </section>
  );
}
