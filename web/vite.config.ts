import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vitest/config';
import react from '@vitejs/plugin-react';

// Where `npm run dev` sends WebSocket and API traffic: a running `peercode serve`.
const backend = process.env.PEERCODE_URL ?? 'http://127.0.0.1:4000';

/**
 * Writes `NAME.br` and `NAME.gz` beside every asset over 1 KiB that compresses, so the
 * server sends them as-is to clients that accept them (crates/server/src/web.rs) and never
 * compresses at request time.
 */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'peercode-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const dir = join(outDir, 'assets');
      for (const name of readdirSync(dir)) {
        if (!/\.(js|css|svg|json|html|ttf|wasm)$/.test(name)) continue;
        const path = join(dir, name);
        if (statSync(path).size < 1024) continue;
        const raw = readFileSync(path);
        const br = brotliCompressSync(raw, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 10, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
        });
        const gz = gzipSync(raw, { level: 9 });
        if (br.length < raw.length * 0.9) writeFileSync(`${path}.br`, br);
        if (gz.length < raw.length * 0.9) writeFileSync(`${path}.gz`, gz);
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), precompress()],
  // Assets are referenced as /assets/... so the server can serve index.html for any
  // client-side route (/r/{room}).
  base: '/',
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
