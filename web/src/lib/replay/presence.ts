/**
 * Recorded presence as a y-protocols `Awareness`, so the room's own cursor drawing
 * (editor/monacoBinding.ts, editor/remoteCursors.ts) draws the replay unchanged. It is
 * never connected to anything: states are set from the recording, this instance has no
 * local state, and y-protocols' 30 s timeout (which would drop anyone who kept still for
 * 30 s of watching) is switched off.
 */
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import type { PresenceChange } from './api';

export const REPLAY_ORIGIN = 'peercode:replay';

type State = Record<string, unknown>;

export class ReplayPresence {
  readonly awareness: Awareness;

  constructor() {
    // Its own document: the player swaps documents on every seek, and an Awareness dies
    // with the document it was made for.
    this.awareness = new Awareness(new Y.Doc());
    clearInterval(this.awareness._checkInterval);
    this.awareness.setLocalState(null);
  }

  /** Everyone present at a moment, replacing whoever was shown. */
  reset(states: ReadonlyArray<{ client: number; state: State }>): void {
    const next = new Map<number, State>();
    for (const { client, state } of states) if (client !== this.awareness.clientID) next.set(client, state);
    const changes: PresenceChange[] = [];
    for (const client of this.awareness.getStates().keys()) if (!next.has(client)) changes.push({ client, state: null });
    for (const [client, state] of next) changes.push({ client, state });
    this.apply(changes);
  }

  /** Recorded changes, in order; one `change` event for all of them. */
  apply(changes: readonly PresenceChange[]): void {
    const { awareness } = this;
    const states = awareness.getStates();
    const added = new Set<number>();
    const updated = new Set<number>();
    const removed = new Set<number>();
    for (const { client, state } of changes) {
      if (client === awareness.clientID) continue;
      const had = states.has(client);
      const meta = awareness.meta.get(client);
      awareness.meta.set(client, { clock: (meta?.clock ?? 0) + 1, lastUpdated: Date.now() });
      if (state === null) {
        if (!had) continue;
        states.delete(client);
        if (added.delete(client)) continue; // came and went within the batch
        updated.delete(client);
        removed.add(client);
      } else {
        if (had && sameJson(states.get(client), state)) continue;
        states.set(client, state);
        if (had) {
          if (!added.has(client)) updated.add(client);
        } else if (removed.delete(client)) {
          updated.add(client);
        } else {
          added.add(client);
        }
      }
    }
    if (added.size + updated.size + removed.size === 0) return;
    const change = { added: [...added], updated: [...updated], removed: [...removed] };
    awareness.emit('change', [change, REPLAY_ORIGIN]);
    awareness.emit('update', [change, REPLAY_ORIGIN]);
  }

  destroy(): void {
    this.awareness.destroy();
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}
