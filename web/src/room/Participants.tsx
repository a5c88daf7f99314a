import { initials, textOn } from '../lib/identity';
import type { Participant } from './session';

interface Props {
  participants: Participant[];
  onRenameSelf: () => void;
}

export function Participants({ participants, onRenameSelf }: Props) {
  return (
    <section className="panel participants-panel" aria-labelledby="participants-title">
      <header className="panel-header">
        <h2 id="participants-title">People</h2>
        <span className="panel-meta">{participants.length} here</span>
      </header>
      <ul className="participants" aria-label="Participants">
        {participants.map((p) => (
          <li key={p.clientId} className="participant" data-client-id={p.clientId} data-self={p.self || undefined}>
            <span className="avatar" style={{ backgroundColor: p.color, color: textOn(p.color) }} aria-hidden="true">
              {initials(p.name)}
            </span>
            <span className="participant-name">{p.name}</span>
            {p.self ? (
              <button type="button" className="linkish small" onClick={onRenameSelf}>
                you · rename
              </button>
            ) : (
              p.file && <span className="participant-file">{p.file}</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
