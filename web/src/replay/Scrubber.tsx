/**
 * The player's timeline: the position (drag or click to seek; a slider for assistive
 * technology), the markers above it (runs, joins, leaves, pastes), the idle stretches that are
 * skipped, and one lane per participant shaded where they were editing. The thumb follows the
 * playhead by writing its style directly, not through a React render per frame.
 */
import { memo, useCallback, useEffect, useRef, useState, type CSSProperties, type PointerEvent as ReactPointerEvent } from 'react';
import type { Player } from '../lib/replay/player';
import type { ReplayMarker, ReplayParticipant, Timeline } from '../lib/replay/api';
import { markerText } from '../lib/replay/markers';
import { formatTime, spokenTime } from '../lib/replay/time';
import { usePlayhead } from './usePlayer';
import { MarkerGlyph } from '../components/icons';

interface Props {
  player: Player;
  timeline: Timeline;
  skipIdle: boolean;
}

const pct = (t: number, tl: Timeline) => (tl.durationMs > 0 ? ((t - tl.startMs) / tl.durationMs) * 100 : 0);

export function Scrubber({ player, timeline, skipIdle }: Props) {
  const track = useRef<HTMLDivElement>(null);
  const fill = useRef<HTMLDivElement>(null);
  const thumb = useRef<HTMLDivElement>(null);
  const dragging = useRef(false);
  const [hover, setHover] = useState<{ x: number; t: number } | null>(null);
  const tl = timeline;

  // The thumb and the fill follow the playhead.
  useEffect(() => {
    const draw = () => {
      const t = player.getTime();
      const p = `${Math.min(100, Math.max(0, pct(t, tl)))}%`;
      if (fill.current) fill.current.style.width = p;
      if (thumb.current) thumb.current.style.left = p;
      // The exact playhead, for tests (the readout shows whole seconds).
      if (track.current) track.current.dataset.timeMs = String(Math.floor(t));
    };
    draw();
    return player.subscribeTime(draw);
  }, [player, tl]);

  // For the slider's aria-valuenow: whole seconds, so it changes once a second.
  const second = usePlayhead(player, (t) => Math.floor((t - tl.startMs) / 1000), 0);

  const timeAt = useCallback(
    (clientX: number) => {
      const rect = track.current?.getBoundingClientRect();
      if (!rect || rect.width === 0) return tl.startMs;
      const f = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
      return tl.startMs + f * tl.durationMs;
    },
    [tl],
  );

  const onPointerDown = (e: ReactPointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return;
    e.preventDefault();
    track.current?.setPointerCapture(e.pointerId);
    track.current?.focus({ preventScroll: true });
    dragging.current = true;
    player.seek(timeAt(e.clientX), { dragging: true });
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLDivElement>) => {
    const rect = track.current?.getBoundingClientRect();
    if (rect) setHover({ x: e.clientX - rect.left, t: timeAt(e.clientX) });
    if (dragging.current) player.seek(timeAt(e.clientX), { dragging: true });
  };
  const endDrag = (e: ReactPointerEvent<HTMLDivElement>) => {
    if (!dragging.current) return;
    dragging.current = false;
    player.seek(timeAt(e.clientX));
  };

  return (
    <div className="scrubber">
      <MarkerRow timeline={tl} onSeek={(t) => player.seek(t)} />
      <div
        ref={track}
        className="scrub-track"
        role="slider"
        tabIndex={0}
        aria-label="Position in the recording"
        aria-valuemin={0}
        aria-valuemax={Math.floor(tl.durationMs / 1000)}
        aria-valuenow={second}
        aria-valuetext={`${spokenTime(second * 1000)} of ${spokenTime(tl.durationMs)}`}
        data-start-ms={tl.startMs}
        data-end-ms={tl.endMs}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={endDrag}
        onPointerCancel={endDrag}
        onPointerLeave={() => setHover(null)}
        onKeyDown={(e) => {
          if (e.key === 'Home' || e.key === 'End') {
            e.preventDefault();
            player.seek(e.key === 'Home' ? tl.startMs : tl.endMs);
          }
        }}
      >
        <div className="scrub-rail" />
        {tl.idle.map((g) => (
          <div
            key={g.fromMs}
            className={`scrub-idle${skipIdle ? ' skipped' : ''}`}
            style={{ left: `${pct(g.fromMs, tl)}%`, width: `${pct(g.toMs, tl) - pct(g.fromMs, tl)}%` }}
            title={`Idle for ${formatTime(g.toMs - g.fromMs)}${skipIdle ? ' (skipped)' : ''}`}
          />
        ))}
        <div className="scrub-fill" ref={fill} />
        <div className="scrub-thumb" ref={thumb} />
        {hover && (
          <div className="scrub-hover" style={{ left: hover.x }} aria-hidden="true">
            {formatTime(hover.t - tl.startMs, tl.durationMs)}
          </div>
        )}
      </div>
      <Lanes timeline={tl} />
    </div>
  );
}

/** Markers over the track; clicking one goes there. The sidebar's list is their keyboard way. */
const MarkerRow = memo(function MarkerRow({ timeline, onSeek }: { timeline: Timeline; onSeek: (t: number) => void }) {
  const colorOf = (m: ReplayMarker) => timeline.participants.find((p) => p.key === m.participant)?.color;
  return (
    <div className="scrub-markers">
      {timeline.markers.map((m, i) => {
        const text = `${markerText(m, timeline.participants)} at ${formatTime(m.tMs - timeline.startMs, timeline.durationMs)}`;
        const color = colorOf(m);
        return (
          <button
            key={`${m.tMs}:${i}`}
            type="button"
            tabIndex={-1}
            className={`scrub-marker kind-${m.kind}`}
            data-kind={m.kind}
            style={{ left: `${pct(m.tMs, timeline)}%`, ...(color ? { '--marker-color': color } : {}) } as CSSProperties}
            title={text}
            aria-label={text}
            onClick={() => onSeek(m.tMs)}
          >
            <MarkerGlyph kind={m.kind} />
          </button>
        );
      })}
    </div>
  );
});

/** One lane per participant, shaded in their colour where they were editing. */
const Lanes = memo(function Lanes({ timeline }: { timeline: Timeline }) {
  const people: ReplayParticipant[] = [...timeline.participants].sort((a, b) => a.firstMs - b.firstMs);
  if (people.length === 0) return null;
  return (
    <div className="scrub-lanes" aria-label="Who was editing when" role="group">
      {people.map((p) => (
        <div key={p.key} className="scrub-lane" data-participant={p.key} title={`${p.name}: editing`}>
          <span className="scrub-lane-name" style={{ color: p.color }}>
            {p.name}
          </span>
          <div className="scrub-lane-track">
            {timeline.activity
              .filter((a) => a.participant === p.key)
              .map((a) => (
                <div
                  key={a.fromMs}
                  className="scrub-activity"
                  style={{ left: `${pct(a.fromMs, timeline)}%`, width: `max(2px, ${pct(a.toMs, timeline) - pct(a.fromMs, timeline)}%)`, backgroundColor: p.color }}
                  title={`${p.name} editing, ${formatTime(a.fromMs - timeline.startMs, timeline.durationMs)}–${formatTime(a.toMs - timeline.startMs, timeline.durationMs)}`}
                />
              ))}
          </div>
        </div>
      ))}
    </div>
  );
});
