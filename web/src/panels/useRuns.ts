/**
 * The room's runs as React state, read from the document's server-owned `runs` map. Output
 * growing inside a run does not re-render the panel: only entries and their fields do
 * (the output views observe their own `Y.Text`).
 */
import { useEffect, useState } from 'react';
import * as Y from 'yjs';
import { listRuns, runsOf, type RunInfo } from '../lib/runs';

export interface RoomRuns {
  map: Y.Map<unknown> | undefined;
  /** Newest first. */
  list: RunInfo[];
}

export function useRuns(doc: Y.Doc | undefined): RoomRuns {
  const [state, setState] = useState<RoomRuns>({ map: undefined, list: [] });
  useEffect(() => {
    if (!doc) {
      setState({ map: undefined, list: [] });
      return;
    }
    const map = runsOf(doc);
    const update = () => setState({ map, list: listRuns(map) });
    const onChange = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
      if (events.every((e) => e.target instanceof Y.Text)) return;
      update();
    };
    map.observeDeep(onChange);
    update();
    return () => map.unobserveDeep(onChange);
  }, [doc]);
  return state;
}
