import { lazy, Suspense } from 'react';
import { Lobby } from './lobby/Lobby';
import { ChunkLoadError, ErrorBoundary } from './components/ErrorBoundary';
import { isValidRoomId } from './lib/roomId';
import { routeOf, usePathname } from './lib/router';

// The room brings Monaco; the lobby should not wait for it. A failed download (the server
// is unreachable, or was redeployed and the old chunk is gone: Vite's preload helper fires
// `vite:preloadError` and, not prevented, rejects the import) becomes a ChunkLoadError that
// the boundary explains, with Reload.
async function loadRoomPage() {
  let m: typeof import('./room/RoomPage');
  try {
    m = await import('./room/RoomPage');
  } catch (e) {
    throw new ChunkLoadError(e);
  }
  if (!m?.RoomPage) throw new ChunkLoadError('the room module is missing');
  return { default: m.RoomPage };
}
const RoomPage = lazy(loadRoomPage);

export function App() {
  const route = routeOf(usePathname(), isValidRoomId);
  if (route.page === 'room')
    return (
      <ErrorBoundary key={`room:${route.room}`}>
        <Suspense fallback={<div className="page center loading">Opening the room…</div>}>
          <RoomPage key={route.room} room={route.room} />
        </Suspense>
      </ErrorBoundary>
    );
  return (
    <ErrorBoundary key="lobby">
      <Lobby notice={route.notice} />
    </ErrorBoundary>
  );
}
