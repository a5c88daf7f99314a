/**
 * One room's live session: the Y.Doc, its WebsocketProvider to `/ws/{room}`, presence
 * (awareness) and the connection status the header shows. Lives as long as the room page.
 */
import { useEffect, useRef, useState } from 'react';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { Awareness } from 'y-protocols/awareness';
import { ensureDefaults } from '../lib/docModel';
import { withAlpha, type Identity } from '../lib/identity';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** How long the server may stay unreachable before "reconnecting" turns into "offline". */
export const OFFLINE_AFTER_MS = 10_000;

export interface Session {
  doc: Y.Doc;
  provider: WebsocketProvider;
  awareness: Awareness;
}

/** The presence fields every client publishes, besides y-monaco's `selection`. */
export interface PresenceUser {
  name: string;
  color: string;
  colorLight: string;
}

export function wsBase(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

/** Opens the room for as long as the calling component is mounted. */
export function useSession(room: string, identity: Identity | null): Session | null {
  const [session, setSession] = useState<Session | null>(null);
  // Renaming yourself updates presence (publishIdentity); it does not reconnect.
  const identityRef = useRef(identity);
  identityRef.current = identity;
  const hasIdentity = identity !== null;
  useEffect(() => {
    const identity = identityRef.current;
    if (identity === null) return;
    const doc = new Y.Doc();
    // Connect on the next task: a mount that is undone at once (React's StrictMode in
    // development) then never opens a socket only to close it while connecting.
    const provider = new WebsocketProvider(wsBase(), room, doc, { maxBackoffTime: 2500, connect: false });
    const connectTimer = setTimeout(() => provider.connect(), 0);
    const awareness = provider.awareness;
    const user: PresenceUser = {
      name: identity.name,
      color: identity.color,
      colorLight: withAlpha(identity.color, 0.25),
    };
    awareness.setLocalStateField('user', user);
    // Fill an empty room once we know what the server has (never before: we would race it).
    const onSync = (synced: boolean) => {
      if (synced) ensureDefaults(doc);
    };
    provider.on('sync', onSync);
    // Leave the participant list at once when the tab closes, not when the server notices.
    const onPageHide = () => awareness.setLocalState(null);
    window.addEventListener('pagehide', onPageHide);
    setSession({ doc, provider, awareness });
    return () => {
      clearTimeout(connectTimer);
      window.removeEventListener('pagehide', onPageHide);
      provider.off('sync', onSync);
      awareness.setLocalState(null);
      setSession(null);
      // The other hooks of the page unsubscribe from this provider in their own cleanups,
      // which React runs after this one: destroy once they have.
      queueMicrotask(() => {
        provider.destroy();
        doc.destroy();
      });
    };
  }, [room, hasIdentity]);
  return session;
}

/** Keeps the identity in presence up to date (a rename from the header). */
export function publishIdentity(session: Session, identity: Identity): void {
  session.awareness.setLocalStateField('user', {
    name: identity.name,
    color: identity.color,
    colorLight: withAlpha(identity.color, 0.25),
  } satisfies PresenceUser);
}

/** Whether the first sync with the server has completed (stays true across reconnects). */
export function useSynced(session: Session | null): boolean {
  const [synced, setSynced] = useState(false);
  useEffect(() => {
    if (!session) return;
    if (session.provider.synced) setSynced(true);
    const on = (s: boolean) => {
      if (s) setSynced(true);
    };
    session.provider.on('sync', on);
    return () => session.provider.off('sync', on);
  }, [session]);
  return synced;
}

/**
 * connected; connecting (never connected yet); reconnecting (lost it, retrying with
 * backoff); offline (the browser says so, or the server has been unreachable for
 * OFFLINE_AFTER_MS; retrying goes on).
 */
export function useConnectionStatus(session: Session | null): ConnectionStatus {
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  useEffect(() => {
    if (!session) return;
    const { provider } = session;
    let everConnected = provider.wsconnected;
    let lostAt: number | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const update = () => {
      clearTimeout(timer);
      if (!navigator.onLine) {
        setStatus('offline');
        return;
      }
      if (provider.wsconnected) {
        everConnected = true;
        lostAt = null;
        setStatus('connected');
        return;
      }
      lostAt ??= Date.now();
      const waited = Date.now() - lostAt;
      if (waited >= OFFLINE_AFTER_MS) {
        setStatus('offline');
      } else {
        setStatus(everConnected ? 'reconnecting' : 'connecting');
        timer = setTimeout(update, OFFLINE_AFTER_MS - waited);
      }
    };
    const onOnline = () => {
      // Retry at once instead of waiting out the backoff.
      if (!provider.wsconnected && provider.shouldConnect) {
        provider.disconnect();
        provider.connect();
      }
      update();
    };
    provider.on('status', update);
    window.addEventListener('online', onOnline);
    window.addEventListener('offline', update);
    update();
    return () => {
      clearTimeout(timer);
      provider.off('status', update);
      window.removeEventListener('online', onOnline);
      window.removeEventListener('offline', update);
    };
  }, [session]);
  return status;
}

export interface Participant {
  clientId: number;
  name: string;
  color: string;
  /** The file they have open. */
  file: string | null;
  self: boolean;
}

function participantsOf(awareness: Awareness): Participant[] {
  const list: Participant[] = [];
  awareness.getStates().forEach((state, clientId) => {
    const user = state.user as Partial<PresenceUser> | undefined;
    if (!user || typeof user.name !== 'string') return;
    list.push({
      clientId,
      name: user.name,
      color: typeof user.color === 'string' ? user.color : '#888888',
      file: typeof state.file === 'string' ? state.file : null,
      self: clientId === awareness.clientID,
    });
  });
  return list.sort((a, b) => (a.self === b.self ? a.name.localeCompare(b.name) || a.clientId - b.clientId : a.self ? -1 : 1));
}

/** The people in the room, you first. */
export function useParticipants(session: Session | null): Participant[] {
  const [list, setList] = useState<Participant[]>([]);
  useEffect(() => {
    if (!session) return;
    const update = () => setList(participantsOf(session.awareness));
    session.awareness.on('change', update);
    update();
    return () => session.awareness.off('change', update);
  }, [session]);
  return list;
}

/** Re-renders when a Y.Map's own entries change (not on edits inside its values). */
export function useYMap<T>(map: Y.Map<T> | undefined): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!map) return;
    const bump = () => setVersion((v) => v + 1);
    map.observe(bump);
    bump();
    return () => map.unobserve(bump);
  }, [map]);
  return version;
}
