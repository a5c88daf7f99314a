import { Modal } from './Modal';
import { APP_SHORTCUTS, EDITOR_SHORTCUTS, PLAYER_SHORTCUTS } from './shortcuts';

type Row = { keys: string; what: string };

/** Everything the keyboard does: in the room first the room's keys, in the player the player's. */
export function ShortcutsDialog({ onClose, context = 'room' }: { onClose: () => void; context?: 'room' | 'player' }) {
  const sections: Array<{ title: string; rows: readonly Row[] }> =
    context === 'player'
      ? [
          { title: 'Replay player', rows: PLAYER_SHORTCUTS },
          { title: 'Anywhere', rows: APP_SHORTCUTS.filter((s) => s.action === 'toggleTheme' || s.action === 'showShortcuts' || s.action === 'nextFile' || s.action === 'prevFile') },
        ]
      : [
          { title: 'Room', rows: APP_SHORTCUTS },
          { title: 'Editor', rows: EDITOR_SHORTCUTS },
          { title: 'Replay player', rows: PLAYER_SHORTCUTS },
        ];
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <div className="shortcuts">
        {sections.map((section) => (
          <section key={section.title}>
            <h3>{section.title}</h3>
            <dl>
              {section.rows.map((s) => (
                <div key={s.keys} className="shortcut">
                  <dt>
                    <kbd>{s.keys}</kbd>
                  </dt>
                  <dd>{s.what}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
        <p className="hint">On a Mac, use ⌘ for Ctrl and ⌥ for Alt.</p>
      </div>
      <div className="row end">
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
