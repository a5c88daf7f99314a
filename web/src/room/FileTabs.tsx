/**
 * The room's files as tabs: open, add, rename (double-click or ✎), delete. The tabs scroll
 * sideways in their own strip; "+" and, when they do not all fit, a menu of every file stay
 * in view beside it. Read-only (the replay player), the tabs only open files.
 */
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from 'react';
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
  /** Open files only: no add, rename or delete. */
  readOnly?: boolean;
}

export function FileTabs(p: Props) {
  const [renaming, setRenaming] = useState<string | null>(null);
  const strip = useRef<HTMLDivElement>(null);
  const [overflowing, setOverflowing] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);

  // Whether the tabs overflow their strip (on resize and when the files change).
  useLayoutEffect(() => {
    const el = strip.current;
    if (!el) return;
    const check = () => setOverflowing(el.scrollWidth > el.clientWidth + 1);
    check();
    const ro = new ResizeObserver(check);
    ro.observe(el);
    return () => ro.disconnect();
  }, [p.files, renaming, p.adding]);

  // The open file's tab is scrolled into view.
  useEffect(() => {
    const el = strip.current;
    if (!el || p.active === undefined) return;
    const tab = Array.from(el.querySelectorAll<HTMLElement>('.tab')).find((t) => t.dataset.file === p.active);
    tab?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [p.active, p.files]);

  return (
    <div className="tabs-bar">
    <div className="tabs" role="tablist" aria-label="Files" ref={strip}>
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
              onDoubleClick={() => !p.readOnly && setRenaming(f)}
              title={f === p.entry ? `${f} (runs)` : f}
            >
              {f === p.entry && <span className="entry-dot" aria-label="runs" />}
              {f}
            </button>
            {f === p.active && !p.readOnly && (
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
    </div>
      {p.readOnly ? null : p.adding ? (
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
      {overflowing && (
        <FileMenu
          files={p.files}
          active={p.active}
          open={menuOpen}
          onOpenChange={setMenuOpen}
          onPick={(f) => {
            setMenuOpen(false);
            p.onOpen(f);
          }}
        />
      )}
    </div>
  );
}

/** Every file in a list, for when the tabs do not all fit. */
function FileMenu(p: { files: string[]; active: string | undefined; open: boolean; onOpenChange: (o: boolean) => void; onPick: (f: string) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const { open, onOpenChange } = p;
  useEffect(() => {
    if (!open) return;
    box.current?.querySelector<HTMLElement>('[aria-checked="true"], [role="menuitemradio"]')?.focus();
    const onDown = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) onOpenChange(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        onOpenChange(false);
      }
    };
    document.addEventListener('mousedown', onDown);
    window.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('mousedown', onDown);
      window.removeEventListener('keydown', onKey, true);
    };
  }, [open, onOpenChange]);
  return (
    <div className="file-menu" ref={box}>
      <button
        type="button"
        className="btn btn-small file-menu-button"
        aria-haspopup="menu"
        aria-expanded={p.open}
        title="All files"
        onClick={() => p.onOpenChange(!p.open)}
      >
        {p.files.length} files ▾
      </button>
      {p.open && (
        <div className="file-menu-list" role="menu" aria-label="All files">
          {p.files.map((f) => (
            <button key={f} type="button" role="menuitemradio" aria-checked={f === p.active} className="file-menu-item" title={f} onClick={() => p.onPick(f)}>
              {f}
            </button>
          ))}
        </div>
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
