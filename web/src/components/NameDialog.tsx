/** Asks for the display name others will see on your cursor and in the participant list. */
import { useState, type FormEvent } from 'react';
import { Modal } from './Modal';
import { cleanName, MAX_NAME_LENGTH } from '../lib/identity';

interface Props {
  title: string;
  initial: string;
  submitLabel: string;
  onSubmit: (name: string) => void;
  onCancel?: () => void;
  /** Replaces the sentence under the field. */
  hint?: string;
}

export function NameDialog({ title, initial, submitLabel, onSubmit, onCancel, hint }: Props) {
  const [name, setName] = useState(initial);
  const clean = cleanName(name);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (clean) onSubmit(clean);
  };
  return (
    <Modal title={title} onClose={onCancel}>
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span>Your name</span>
          <input
            name="display-name"
            value={name}
            maxLength={MAX_NAME_LENGTH}
            autoComplete="nickname"
            placeholder="e.g. Ada"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <p className="hint">{hint ?? 'Shown to others next to your cursor. Remembered on this device.'}</p>
        <div className="row end">
          {onCancel && (
            <button type="button" className="btn" onClick={onCancel}>
              Cancel
            </button>
          )}
          <button type="submit" className="btn btn-primary" disabled={!clean}>
            {submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
