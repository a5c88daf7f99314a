/**
 * A placeholder for running the room's code: this server has no runner yet (runs in rooms
 * come with a later issue). Until then it is one collapsed bar that says so, with the file
 * that will run (`meta.entry`), so it takes no room from the editor.
 */
interface Props {
  files: string[];
  entry: string | undefined;
  onEntryChange: (path: string) => void;
}

export const RUN_UNAVAILABLE = 'Running code is not available on this server yet: runs in rooms come in a later release.';

export function RunPanel({ files, entry, onEntryChange }: Props) {
  return (
    <section className="panel run-panel collapsed" aria-labelledby="run-title" data-state="unavailable">
      <header className="panel-header">
        <h2 id="run-title">Run</h2>
        <span className="run-note" title={RUN_UNAVAILABLE}>
          Not available yet
        </span>
        <label className="run-entry">
          <span>Entry file</span>
          <select value={entry ?? ''} onChange={(e) => onEntryChange(e.target.value)} aria-label="File that runs">
            {files.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-primary btn-small run-button" disabled title={RUN_UNAVAILABLE} aria-label={`Run (${RUN_UNAVAILABLE})`}>
          ▶ Run
        </button>
      </header>
    </section>
  );
}
