/**
 * Where running the room's code will live (the runner's own issue fills it in): the entry
 * file to run, the Run button, and the output everyone sees. Until then it says so.
 */
interface Props {
  files: string[];
  entry: string | undefined;
  onEntryChange: (path: string) => void;
}

export const RUN_UNAVAILABLE = 'Running code arrives with the sandboxed runner.';

export function RunPanel({ files, entry, onEntryChange }: Props) {
  return (
    <section className="panel run-panel" aria-labelledby="run-title">
      <header className="panel-header">
        <h2 id="run-title">Run</h2>
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
        <button type="button" className="btn btn-primary btn-small run-button" disabled title={RUN_UNAVAILABLE}>
          ▶ Run
        </button>
      </header>
      <div className="panel-body run-output">
        <p className="panel-note">
          {RUN_UNAVAILABLE} Output will stream here, live, to everyone in the room.
        </p>
      </div>
    </section>
  );
}
