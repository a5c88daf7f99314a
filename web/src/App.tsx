import { lazy, Suspense } from 'react';
import { Lobby } from './lobby/Lobby';
import { isValidRoomId } from './lib/roomId';
import { routeOf, usePathname } from './lib/router';

// The room brings Monaco; the lobby should not wait for it.
const RoomPage = lazy(() => import('./room/RoomPage').then((m) => ({ default: m.RoomPage })));

export function App() {
  const route = routeOf(usePathname(), isValidRoomId);
  if (route.page === 'room')
    return (
      <Suspense fallback={<div className="page center loading">Opening the room…</div>}>
        <RoomPage key={route.room} room={route.room} />
      </Suspense>
    );
  return <Lobby notice={route.notice} />;
}
