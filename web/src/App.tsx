import { lazy, Suspense } from 'react';
import { Lobby } from './lobby/Lobby';
import { AuthPage } from './account/AuthPage';
import { ChunkLoadError, ErrorBoundary } from './components/ErrorBoundary';
import { isValidRoomId } from './lib/roomId';
import { routeOf, usePathname } from './lib/router';

// The room and the player bring Monaco; the lobby should not wait for it. A failed download
// (the server is unreachable, or was redeployed and the old chunk is gone: Vite's preload
// helper fires `vite:preloadError` and, not prevented, rejects the import) becomes a
// ChunkLoadError that the boundary explains, with Reload.
async function loadPage<M, P>(load: () => Promise<M>, pick: (m: M) => P | undefined, what: string): Promise<{ default: P }> {
  let m: M;
  try {
    m = await load();
  } catch (e) {
    throw new ChunkLoadError(e);
  }
  const page = m ? pick(m) : undefined;
  if (!page) throw new ChunkLoadError(`the ${what} module is missing`);
  return { default: page };
}
const RoomPage = lazy(() => loadPage(() => import('./room/RoomPage'), (m) => m?.RoomPage, 'room'));
const PlayerPage = lazy(() => loadPage(() => import('./replay/PlayerPage'), (m) => m?.PlayerPage, 'player'));

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
  if (route.page === 'replay')
    return (
      <ErrorBoundary key={`replay:${route.room}`}>
        <Suspense fallback={<div className="page center loading">Opening the recording…</div>}>
          <PlayerPage key={route.room} room={route.room} />
        </Suspense>
      </ErrorBoundary>
    );
  if (route.page === 'login' || route.page === 'signup')
    return (
      <ErrorBoundary key={route.page}>
        <AuthPage key={route.page} mode={route.page} />
      </ErrorBoundary>
    );
  return (
    <ErrorBoundary key="lobby">
      <Lobby notice={route.notice} />
    </ErrorBoundary>
  );
}
