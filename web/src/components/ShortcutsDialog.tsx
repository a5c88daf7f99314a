import { Modal } from './Modal';
import { APP_SHORTCUTS, EDITOR_SHORTCUTS } from './shortcuts';

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <div className="shortcuts">
        <h3>Room</h3>
        <dl>
          {APP_SHORTCUTS.map((s) => (
            <div key={s.action} className="shortcut">
              <dt>
                <kbd>{s.keys}</kbd>
              </dt>
              <dd>{s.what}</dd>
            </div>
          ))}
        </dl>
        <h3>Editor</h3>
        <dl>
          {EDITOR_SHORTCUTS.map((s) => (
            <div key={s.keys} className="shortcut">
              <dt>
                <kbd>{s.keys}</kbd>
              </dt>
              <dd>{s.what}</dd>
            </div>
          ))}
        </dl>
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
