/**
 * The last line of defence: an error while rendering (or a part of the app that could not be
 * downloaded) shows a sentence and a Reload button instead of a blank page.
 */
import { Component, type ReactNode } from 'react';

/** A lazily loaded part of the app could not be fetched (server unreachable, or redeployed). */
export class ChunkLoadError extends Error {
  constructor(cause: unknown) {
    super(`could not load part of the app: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ChunkLoadError';
  }
}

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    const chunk = error instanceof ChunkLoadError;
    return (
      <div className="page center">
        <div className="card crash" role="alert" data-kind={chunk ? 'chunk' : 'crash'}>
          <h1>{chunk ? 'Could not load the app' : 'Something went wrong'}</h1>
          <p>
            {chunk
              ? 'Part of PeerCode could not be downloaded: the server is unreachable, or it was updated since this page was opened. Check your connection, then reload.'
              : 'PeerCode hit an unexpected error. Your edits in a room are kept on the server up to the last one it received; reloading reopens the room.'}
          </p>
          {!chunk && <pre className="crash-detail">{error.message}</pre>}
          <div className="row">
            <button type="button" className="btn btn-primary" onClick={() => location.reload()}>
              Reload
            </button>
            <a className="btn" href="/">
              Back to the lobby
            </a>
          </div>
        </div>
      </div>
    );
  }
}
