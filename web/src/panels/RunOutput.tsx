/**
 * One output stream of a run, drawn straight into a <pre> at most once per animation
 * frame: a run may print up to 1 MiB per stream while everyone watches, so React never
 * holds the text and appends are appended (not redrawn). Stays scrolled to the bottom
 * while the reader is there.
 */
import { useEffect, useRef, useState } from 'react';
import * as Y from 'yjs';
import { formatBytes, isAppendOnly, type RunStream } from '../lib/runs';

/** Characters drawn per stream until the reader asks for all of it. */
export const DISPLAY_CAP = 256 * 1024;

interface Props {
  text: Y.Text | undefined;
  stream: RunStream;
  label: string;
  /** What an empty stream says; when null an empty stream is not shown at all. */
  emptyNote: string | null;
}

export function RunOutput({ text, stream, label, emptyNote }: Props) {
  const pre = useRef<HTMLPreElement>(null);
  const [length, setLength] = useState(0);
  const [cap, setCap] = useState(DISPLAY_CAP);

  useEffect(() => {
    const el = pre.current;
    if (!el) return;
    let drawn = 0; // characters of the text now in the <pre>
    let redraw = true;
    let frame = 0;
    const draw = () => {
      frame = 0;
      const full = text ? text.toString() : '';
      const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
      const upTo = Math.min(full.length, cap);
      if (redraw || upTo < drawn) el.textContent = full.slice(0, upTo);
      else if (upTo > drawn) el.appendChild(document.createTextNode(full.slice(drawn, upTo)));
      drawn = upTo;
      redraw = false;
      setLength(full.length);
      if (atBottom) el.scrollTop = el.scrollHeight;
    };
    const onChange = (event: Y.YTextEvent) => {
      if (!text || !isAppendOnly(event.delta, text.length)) redraw = true;
      if (!frame) frame = requestAnimationFrame(draw);
    };
    text?.observe(onChange);
    draw();
    return () => {
      text?.unobserve(onChange);
      cancelAnimationFrame(frame);
    };
  }, [text, cap]);

  const empty = length === 0;
  return (
    <section className={`run-stream run-${stream}`} data-stream={stream} hidden={empty && emptyNote === null} aria-label={label}>
      <h3 className="run-stream-label">{label}</h3>
      {empty && emptyNote !== null && <p className="run-empty">{emptyNote}</p>}
      <pre ref={pre} className="run-text" hidden={empty} tabIndex={0} />
      {length > cap && (
        <p className="run-cut">
          Showing the first {formatBytes(cap)} of {formatBytes(length)}.{' '}
          <button type="button" className="linkish" onClick={() => setCap(Infinity)}>
            Show all
          </button>
        </p>
      )}
    </section>
  );
}
