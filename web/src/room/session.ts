/**
 * One room's live session: the Y.Doc, its WebsocketProvider to `/ws/{room}`, presence
 * (awareness) and the connection status the header shows. Lives as long as the room page.
 */
import { useEffect, useRef, useState } from 'react';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { Awareness } from 'y-protocols/awareness';
import * as authProtocol from 'y-protocols/auth';
import { ensureDefaults } from '../lib/docModel';
import { personId, withAlpha, type Identity } from '../lib/identity';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** After a reconnect, how long people not heard from again stay listed as reconnecting. */
export const RECONNECT_GRACE_MS = 5_000;

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
  /** Same in every tab of one browser profile (identity.personId). */
  person: string;
}

function presenceUser(identity: Identity): PresenceUser {
  return { name: identity.name, color: identity.color, colorLight: withAlpha(identity.color, 0.25), person: personId() };
}

/** y-websocket's message type of y-protocols' auth messages. */
const MESSAGE_AUTH = 2;

export function wsBase(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

export interface SessionOptions {
  /** Query parameters of the WebSocket URL (a guest's `invite` and `name`). */
  params?: Record<string, string>;
  /** Whether we may write: a viewer never fills an empty room (the server would refuse it). */
  canEdit?: boolean;
  /**
   * The server refused one of our updates (y-protocols' permission-denied message): our role
   * changed under us. Our copy of the document then holds edits nobody else has.
   */
  onDenied?: (reason: string) => void;
  /** A new value opens a fresh session (a fresh Y.Doc: the server's document, nothing refused). */
  generation?: number;
}

/** Opens the room for as long as the calling component is mounted (and `identity` is set). */
export function useSession(room: string, identity: Identity | null, options: SessionOptions = {}): Session | null {
  const [session, setSession] = useState<Session | null>(null);
  // Renaming yourself updates presence (publishIdentity); it does not reconnect.
  const identityRef = useRef(identity);
  identityRef.current = identity;
  const canEditRef = useRef(options.canEdit ?? true);
  canEditRef.current = options.canEdit ?? true;
  const onDeniedRef = useRef(options.onDenied);
  onDeniedRef.current = options.onDenied;
  const generation = options.generation ?? 0;
  const hasIdentity = identity !== null;
  const paramsKey = JSON.stringify(options.params ?? {});
  useEffect(() => {
    const identity = identityRef.current;
    if (identity === null) return;
    const params = JSON.parse(paramsKey) as Record<string, string>;
    const doc = new Y.Doc();
    // Connect on the next task: a mount that is undone at once (React's StrictMode in
    // development) then never opens a socket only to close it while connecting.
    const provider = new WebsocketProvider(wsBase(), room, doc, { maxBackoffTime: 2500, connect: false, params });
    // The stock handler only logs a refusal: tell the page, which knows what it means.
    provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => onDeniedRef.current?.(reason));
    };
    const connectTimer = setTimeout(() => provider.connect(), 0);
    const awareness = provider.awareness;
    awareness.setLocalStateField('user', presenceUser(identity));
    // Fill an empty room once we know what the server has (never before: we would race it).
    const onSync = (synced: boolean) => {
      if (synced && canEditRef.current) ensureDefaults(doc);
    };
    provider.on('sync', onSync);
    // After a reconnect, re-announce ourselves with a newer awareness clock: the others
    // dropped our state when their connection broke, and y-protocols ignores a state whose
    // clock they have already seen, so we would stay missing from their list until the
    // 15 s renewal.
    let connectedBefore = false;
    const onStatus = ({ status }: { status: string }) => {
      if (status !== 'connected') return;
      if (connectedBefore && awareness.getLocalState() !== null) awareness.setLocalState({ ...awareness.getLocalState() });
      connectedBefore = true;
    };
    provider.on('status', onStatus);
    // Leave the participant list at once when the tab closes, not when the server notices.
    const onPageHide = () => awareness.setLocalState(null);
    window.addEventListener('pagehide', onPageHide);
    setSession({ doc, provider, awareness });
    return () => {
      clearTimeout(connectTimer);
      window.removeEventListener('pagehide', onPageHide);
      provider.off('sync', onSync);
      provider.off('status', onStatus);
      awareness.setLocalState(null);
      setSession(null);
      // The other hooks of the page unsubscribe from this provider in their own cleanups,
      // which React runs after this one: destroy once they have.
      queueMicrotask(() => {
        provider.destroy();
        doc.destroy();
      });
    };
  }, [room, hasIdentity, paramsKey, generation]);
  return session;
}

/** Keeps the identity in presence up to date (a rename from the header). */
export function publishIdentity(session: Session, identity: Identity): void {
  session.awareness.setLocalStateField('user', presenceUser(identity));
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
  /** One of their client ids (the first seen), as a stable key. */
  clientId: number;
  name: string;
  color: string;
  /** The file they have open (in their most recent tab). */
  file: string | null;
  self: boolean;
  /** How many tabs (awareness clients) this person has in the room. */
  tabs: number;
  /** Last seen before the connection dropped: shown while reconnecting, not live. */
  stale: boolean;
}

/** The people in the room, one entry per person (tabs of one browser are grouped), you first. */
export function participantsOf(states: Map<number, Record<string, unknown>>, selfId: number): Participant[] {
  const byPerson = new Map<string, Participant>();
  const selfPerson = (states.get(selfId)?.user as Partial<PresenceUser> | undefined)?.person;
  states.forEach((state, clientId) => {
    const user = state.user as Partial<PresenceUser> | undefined;
    if (!user || typeof user.name !== 'string') return;
    const key = typeof user.person === 'string' && user.person ? `p:${user.person}` : `c:${clientId}`;
    const self = clientId === selfId || (selfPerson !== undefined && user.person === selfPerson);
    const prev = byPerson.get(key);
    if (prev) {
      prev.tabs += 1;
      prev.self ||= self;
      if (clientId === selfId || (prev.file === null && typeof state.file === 'string')) prev.file = typeof state.file === 'string' ? state.file : prev.file;
      return;
    }
    byPerson.set(key, {
      clientId,
      name: user.name,
      color: typeof user.color === 'string' ? user.color : '#888888',
      file: typeof state.file === 'string' ? state.file : null,
      self,
      tabs: 1,
      stale: false,
    });
  });
  return Array.from(byPerson.values()).sort((a, b) =>
    a.self === b.self ? a.name.localeCompare(b.name) || a.clientId - b.clientId : a.self ? -1 : 1,
  );
}

/**
 * The people in the room, you first. While the connection is down y-websocket forgets
 * everyone else; the list keeps them as they were last seen, marked `stale`, until it is back.
 */
export function useParticipants(session: Session | null): Participant[] {
  const [list, setListState] = useState<Participant[]>([]);
  useEffect(() => {
    if (!session) return;
    const { awareness, provider } = session;
    // Awareness changes with every caret move of anyone: re-render the page only when the
    // list itself changed.
    let shown: Participant[] = [];
    const setList = (next: Participant[]) => {
      if (sameParticipants(shown, next)) return;
      shown = next;
      setListState(next);
    };
    /** Others as last seen while connected. */
    let lastLive: Participant[] = [];
    /** After a reconnect, those not back yet stay listed (stale) for a moment. */
    let waitingFor: Participant[] = [];
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    let wasConnected = provider.wsconnected;
    const update = () => {
      const now = participantsOf(awareness.getStates() as Map<number, Record<string, unknown>>, awareness.clientID);
      if (provider.wsconnected) {
        if (!wasConnected) {
          wasConnected = true;
          waitingFor = lastLive.filter((p) => !p.self);
          clearTimeout(graceTimer);
          graceTimer = setTimeout(() => {
            waitingFor = [];
            update();
          }, RECONNECT_GRACE_MS);
        }
        const back = new Set(now.map((p) => `${p.name}\u0000${p.color}`));
        waitingFor = waitingFor.filter((p) => !back.has(`${p.name}\u0000${p.color}`));
        lastLive = now;
        setList([...now, ...waitingFor.map((p) => ({ ...p, stale: true }))]);
        return;
      }
      wasConnected = false;
      const selfNow = now.filter((p) => p.self);
      const others = lastLive.filter((p) => !p.self).map((p) => ({ ...p, stale: true }));
      setList([...selfNow, ...others]);
    };
    awareness.on('change', update);
    provider.on('status', update);
    update();
    return () => {
      clearTimeout(graceTimer);
      awareness.off('change', update);
      provider.off('status', update);
    };
  }, [session]);
  return list;
}

function sameParticipants(a: Participant[], b: Participant[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => {
    const q = b[i];
    return (
      q !== undefined &&
      p.clientId === q.clientId &&
      p.name === q.name &&
      p.color === q.color &&
      p.file === q.file &&
      p.self === q.self &&
      p.tabs === q.tabs &&
      p.stale === q.stale
    );
  });
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
