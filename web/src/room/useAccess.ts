/**
 * The room's access as the server sees it, for the page: our role before we connect
 * (`GET …/access`), a refusal to show instead of the room, the connection closed for good
 * (4003 revoked, 4004 deleted) or refused at the upgrade (checked again over HTTP: a browser
 * never sees a refused upgrade's status), and each present client's server-given role
 * (`GET …/people`) for the badges and our own live role.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, roomAccess, roomPeople, type GuestPass, type PresentClient, type RoomAccess } from '../lib/api';
import { closedFor, refusalOf, type Refusal } from '../lib/access';
import type { Session } from './session';

export type AccessState =
  | { status: 'loading'; unreachable: boolean }
  | { status: 'ok'; access: RoomAccess }
  | { status: 'refused'; refusal: Refusal };

function refusalFrom(e: unknown, guest: GuestPass | null, signedIn: boolean): Refusal {
  const err = e instanceof ApiError ? e : new ApiError(0, 'Something went wrong.');
  return refusalOf(err.status, err.message, { invite: guest !== null, signedIn });
}

/** A failure that goes away by itself: the server unreachable, or in trouble. */
const transient = (e: unknown) => !(e instanceof ApiError) || e.status === 0 || e.status >= 500;

/**
 * `GET /api/rooms/{room}/access` once `enabled`, again when who we are changes; retried
 * (up to every 5 s) while the server cannot be reached.
 */
export function useRoomAccess(room: string, guest: GuestPass | null, who: string, enabled: boolean): [AccessState, (refusal: Refusal) => void] {
  const [state, setState] = useState<AccessState>({ status: 'loading', unreachable: false });
  const guestKey = guest ? `${guest.invite}\u0000${guest.name}` : '';
  const guestRef = useRef(guest);
  guestRef.current = guest;
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const ask = () => {
      roomAccess(room, guestRef.current).then(
        (access) => live && setState({ status: 'ok', access }),
        (e) => {
          if (!live) return;
          if (transient(e)) {
            setState((s) => (s.status === 'ok' ? s : { status: 'loading', unreachable: true }));
            timer = setTimeout(ask, Math.min(5000, 500 * 2 ** attempt++));
          } else setState({ status: 'refused', refusal: refusalFrom(e, guestRef.current, who.startsWith('user:')) });
        },
      );
    };
    setState((s) => (s.status === 'ok' ? s : { status: 'loading', unreachable: false }));
    ask();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [room, guestKey, who, enabled]);
  const refuse = useCallback((refusal: Refusal) => setState({ status: 'refused', refusal }), []);
  return [state, refuse];
}

/**
 * Watches the connection for the server closing it for good, or refusing it before the
 * upgrade; calls `refuse` with the sentence and stops reconnecting. `owned`: only an owned
 * room's access can change under a connection, so only there does a failed connection ask
 * over HTTP why (elsewhere it would only add a failed request per retry while the server is
 * down).
 */
export function useConnectionRefusal(session: Session | null, room: string, guest: GuestPass | null, signedIn: boolean, refuse: (r: Refusal) => void, owned: boolean): void {
  const guestRef = useRef(guest);
  guestRef.current = guest;
  const signedInRef = useRef(signedIn);
  signedInRef.current = signedIn;
  useEffect(() => {
    if (!session) return;
    const { provider } = session;
    let checking = false;
    let lastCheck = 0;
    const stop = (refusal: Refusal) => {
      provider.shouldConnect = false;
      refuse(refusal);
    };
    const onClose = (event: CloseEvent | null) => {
      if (!event) return;
      const refusal = closedFor(event.code, event.reason);
      if (refusal) stop(refusal);
    };
    // A refused upgrade looks like any failed connection: ask over HTTP why (at most every 2 s).
    const onError = () => {
      if (!owned || checking || Date.now() - lastCheck < 2000) return;
      checking = true;
      lastCheck = Date.now();
      roomAccess(room, guestRef.current).then(
        () => {
          checking = false;
        },
        (e) => {
          checking = false;
          if (e instanceof ApiError && e.status !== 0 && e.status !== 429 && e.status < 500)
            stop(refusalFrom(e, guestRef.current, signedInRef.current));
        },
      );
    };
    provider.on('connection-close', onClose);
    provider.on('connection-error', onError);
    return () => {
      provider.off('connection-close', onClose);
      provider.off('connection-error', onError);
    };
  }, [session, room, refuse, owned]);
}

/** How often the badges are refreshed while nothing in presence changes (a role change does not show there). */
const PEOPLE_REFRESH_MS = 10_000;

/** Each present client's server-given role, by Yjs client id (an owned room only). */
export function usePeople(session: Session | null, room: string, guest: GuestPass | null, owned: boolean): Map<number, PresentClient> {
  const [people, setPeople] = useState<Map<number, PresentClient>>(() => new Map());
  const guestRef = useRef(guest);
  guestRef.current = guest;
  useEffect(() => {
    if (!session || !owned) return;
    const { awareness, provider } = session;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight = false;
    let again = false;
    let lastKey = '';
    const fetchNow = () => {
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      roomPeople(room, guestRef.current).then(
        (list) => {
          inFlight = false;
          if (!live) return;
          setPeople((prev) => {
            const next = new Map(list.map((p) => [p.client, p]));
            const same = prev.size === next.size && [...next].every(([k, v]) => prev.get(k)?.role === v.role && prev.get(k)?.kind === v.kind);
            return same ? prev : next;
          });
          if (again) {
            again = false;
            schedule(0);
          }
        },
        () => {
          inFlight = false;
        },
      );
    };
    const schedule = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        fetchNow();
        schedule(PEOPLE_REFRESH_MS);
      }, ms);
    };
    // Who is present changed (not a caret move): ask soon.
    const onChange = () => {
      const key = [...awareness.getStates().keys()].sort((a, b) => a - b).join(',');
      if (key === lastKey) return;
      lastKey = key;
      schedule(250);
    };
    const onStatus = ({ status }: { status: string }) => status === 'connected' && schedule(250);
    awareness.on('change', onChange);
    provider.on('status', onStatus);
    onChange();
    return () => {
      live = false;
      clearTimeout(timer);
      awareness.off('change', onChange);
      provider.off('status', onStatus);
    };
  }, [session, room, owned]);
  return people;
}
