/** The room's files as tabs: open, add, rename (double-click or ✎), delete. */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { IconPencil, IconPlus, IconX } from '../components/icons';

interface Props {
  files: string[];
  active: string | undefined;
  entry: string | undefined;
  /** Set by the Alt+N shortcut: open the "new file" field. */
  adding: boolean;
  onAddingChange: (adding: boolean) => void;
  suggestedName: string;
  onOpen: (path: string) => void;
  /** Each returns an error sentence, or null when done. */
  onAdd: (path: string) => string | null;
  onRename: (from: string, to: string) => string | null;
  onDelete: (path: string) => void;
}

export function FileTabs(p: Props) {
  const [renaming, setRenaming] = useState<string | null>(null);
  return (
    <div className="tabs" role="tablist" aria-label="Files">
      {p.files.map((f) =>
        renaming === f ? (
          <NameField
            key={f}
            initial={f}
            label={`New name for ${f}`}
            onSubmit={(name) => {
              const err = p.onRename(f, name);
              if (!err) setRenaming(null);
              return err;
            }}
            onCancel={() => setRenaming(null)}
          />
        ) : (
          <div key={f} className={`tab${f === p.active ? ' active' : ''}`} data-file={f}>
            <button
              type="button"
              role="tab"
              aria-selected={f === p.active}
              className="tab-label"
              onClick={() => p.onOpen(f)}
              onDoubleClick={() => setRenaming(f)}
              title={f === p.entry ? `${f} (runs)` : f}
            >
              {f === p.entry && <span className="entry-dot" aria-label="runs" />}
              {f}
            </button>
            {f === p.active && (
              <>
                <button type="button" className="icon-btn tab-action" aria-label={`Rename ${f}`} title="Rename" onClick={() => setRenaming(f)}>
                  <IconPencil />
                </button>
                {p.files.length > 1 && (
                  <button type="button" className="icon-btn tab-action" aria-label={`Delete ${f}`} title="Delete" onClick={() => p.onDelete(f)}>
                    <IconX />
                  </button>
                )}
              </>
            )}
          </div>
        ),
      )}
      {p.adding ? (
        <NameField
          initial={p.suggestedName}
          label="New file name"
          onSubmit={(name) => {
            const err = p.onAdd(name);
            if (!err) p.onAddingChange(false);
            return err;
          }}
          onCancel={() => p.onAddingChange(false)}
        />
      ) : (
        <button type="button" className="icon-btn add-file" aria-label="New file" title="New file (Alt+N)" onClick={() => p.onAddingChange(true)}>
          <IconPlus />
        </button>
      )}
    </div>
  );
}

function NameField({
  initial,
  label,
  onSubmit,
  onCancel,
}: {
  initial: string;
  label: string;
  onSubmit: (name: string) => string | null;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.focus();
    const dot = initial.lastIndexOf('.');
    el.setSelectionRange(0, dot > 0 ? dot : initial.length);
  }, [initial]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(onSubmit(value.trim()));
  };
  return (
    <form className="tab-form" onSubmit={submit}>
      <input
        ref={input}
        aria-label={label}
        aria-invalid={error !== null}
        value={value}
        size={Math.max(10, value.length + 1)}
        onChange={(e) => {
          setValue(e.target.value);
          setError(null);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            onCancel();
          }
        }}
        onBlur={() => {
          if (value.trim() === initial) onCancel();
        }}
      />
      {error && (
        <span className="tab-error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
