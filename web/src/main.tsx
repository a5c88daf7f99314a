import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { ChunkLoadError } from './components/ErrorBoundary';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root, {
  // A chunk that could not be downloaded is explained on screen; it is not a bug to log as one.
  onCaughtError: (error, info) => {
    if (error instanceof ChunkLoadError) console.warn(error.message);
    else console.error(error, info.componentStack);
  },
}).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
