/** The replay player (lib/replay/player.ts) as React state: one per page, destroyed with it. */
import { useEffect, useState, useSyncExternalStore } from 'react';
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { Player, type PlayerView } from '../lib/replay/player';

/** A new player for `room` (again when `attempt` changes: "Try again"). */
export function usePlayer(room: string, attempt: number): Player | null {
  const [player, setPlayer] = useState<Player | null>(null);
  useEffect(() => {
    const p = new Player(room);
    setPlayer(p);
    void p.load();
    return () => {
      p.destroy();
      setPlayer(null);
    };
  }, [room, attempt]);
  return player;
}

const noSubscribe = () => () => {};
const LOADING: PlayerView = {
  phase: 'loading',
  message: null,
  problem: null,
  timeline: null,
  doc: null,
  playing: false,
  speed: 1,
  skipIdle: true,
  waiting: false,
};

export function usePlayerView(player: Player | null): PlayerView {
  return useSyncExternalStore(player ? player.subscribe : noSubscribe, player ? player.getView : () => LOADING);
}

/**
 * Something computed from the playhead, re-rendering only when it changes (the playhead
 * moves every frame while playing; a clock that shows seconds changes once a second).
 */
export function usePlayhead<T>(player: Player | null, select: (time: number) => T, fallback: T): T {
  return useSyncExternalStore(player ? player.subscribeTime : noSubscribe, () => (player ? select(player.getTime()) : fallback));
}

/** The awareness states, as a new Map on every change. */
export function useAwarenessStates(awareness: Awareness | undefined): Map<number, Record<string, unknown>> {
  const [states, setStates] = useState(() => new Map<number, Record<string, unknown>>());
  useEffect(() => {
    if (!awareness) return;
    const update = () => setStates(new Map(awareness.getStates() as Map<number, Record<string, unknown>>));
    awareness.on('change', update);
    update();
    return () => awareness.off('change', update);
  }, [awareness]);
  return states;
}

/** Calls `onEdit` with the path of the file an update of `doc` edited last (the player follows edits while playing). */
export function useLastEdited(doc: Y.Doc | null, onEdit: (path: string) => void): void {
  useEffect(() => {
    if (!doc) return;
    const files = doc.getMap('files');
    const observer = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i]!;
        const key = e.path[0];
        if (e.target instanceof Y.Text && typeof key === 'string') {
          onEdit(key);
          return;
        }
      }
    };
    files.observeDeep(observer);
    return () => files.unobserveDeep(observer);
  }, [doc, onEdit]);
}
