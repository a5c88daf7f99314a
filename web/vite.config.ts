import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// Where `npm run dev` sends WebSocket and API traffic: a running `peercode serve`.
const backend = process.env.PEERCODE_URL ?? 'http://127.0.0.1:4000';
const monacoEsm = fileURLToPath(new URL('./node_modules/monaco-editor/esm/vs/', import.meta.url));

export default defineConfig({
  plugins: [react()],
  // Assets are referenced as /assets/... so the server can serve index.html for any
  // client-side route (/r/{room}).
  base: '/',
  resolve: {
    alias: [
      // y-monaco imports Monaco by its file path, which monaco-editor's `exports` map does not
      // expose; point it at the same module our code imports so there is one Monaco instance.
      { find: /^monaco-editor\/esm\/vs\/(.*)$/, replacement: `${monacoEsm}$1` },
    ],
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    sourcemap: false,
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
      '/api': { target: backend },
      '/healthz': { target: backend },
    },
  },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
  },
});
