import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vite';

// Served by the server at /ui (src/common/http/console-static.ts): hashed files land in
// dist/assets (cached as immutable), index.html is revalidated. The client is bundled from its
// TypeScript source, so the console builds without the client's own build.
export default defineConfig({
  base: '/ui/',
  resolve: {
    alias: {
      '@omnigent-server/client': fileURLToPath(
        new URL('../clients/typescript/src/index.ts', import.meta.url),
      ),
    },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline script anywhere: the CSP allows 'self' scripts only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
