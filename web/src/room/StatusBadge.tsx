import type { ConnectionStatus } from './session';

const TEXT: Record<ConnectionStatus, { label: string; title: string }> = {
  connecting: { label: 'Connecting', title: 'Opening the room…' },
  connected: { label: 'Connected', title: 'Your edits reach everyone live.' },
  reconnecting: { label: 'Reconnecting', title: 'Lost the connection; retrying. Keep typing: your edits are kept and sent when it is back.' },
  offline: { label: 'Offline', title: 'No connection to the server; still retrying. Your edits are kept and sent when it is back.' },
};

export function StatusBadge({ status }: { status: ConnectionStatus }) {
  const t = TEXT[status];
  return (
    <span className={`status status-${status}`} role="status" aria-live="polite" title={t.title} data-status={status}>
      <span className="status-dot" aria-hidden="true" />
      {t.label}
    </span>
  );
}
