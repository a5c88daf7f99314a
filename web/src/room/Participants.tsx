import { initials, textOn } from '../lib/identity';
import type { Badge } from '../lib/access';
import type { Participant } from './session';

interface Props {
  participants: Participant[];
  /** The connection is down: others are shown as last seen. */
  reconnecting: boolean;
  onRenameSelf: () => void;
  /** The role badge the server's word gives a participant (none in rooms nobody owns). */
  badge?: (p: Participant) => { badge: Badge | null; title: string };
}

export function Participants({ participants, reconnecting, onRenameSelf, badge }: Props) {
  return (
    <section className="panel participants-panel" aria-labelledby="participants-title" data-state={reconnecting ? 'reconnecting' : 'live'}>
      <header className="panel-header">
        <h2 id="participants-title">People</h2>
        <span className="panel-meta">{reconnecting ? 'reconnecting…' : `${participants.length} here`}</span>
      </header>
      <ul className="participants" aria-label="Participants">
        {participants.map((p) => {
          const b = badge?.(p);
          return (
          <li
            key={p.clientId}
            className={`participant${p.stale ? ' stale' : ''}`}
            data-client-id={p.clientId}
            data-self={p.self || undefined}
            data-state={p.stale ? 'reconnecting' : 'live'}
            title={p.stale ? `${p.name}: last seen before the connection dropped` : p.name}
          >
            <span className="avatar" style={{ backgroundColor: p.color, color: textOn(p.color) }} aria-hidden="true">
              {initials(p.name)}
            </span>
            <span className="participant-name">{p.name}</span>
            {b?.badge && (
              <span className={`role-badge role-${b.badge}`} title={b.title} data-badge={b.badge}>
                {b.badge}
              </span>
            )}
            {p.tabs > 1 && (
              <span className="participant-tabs" title={`${p.name} has this room open in ${p.tabs} tabs`}>
                ×{p.tabs}
              </span>
            )}
            {p.self ? (
              <button type="button" className="linkish small" onClick={onRenameSelf}>
                you · rename
              </button>
            ) : (
              p.file && <span className="participant-file">{p.file}</span>
            )}
          </li>
          );
        })}
      </ul>
    </section>
  );
}
