/**
 * The web page's build: `npm run build:web` writes dist/web, which the API process serves at `/`.
 * `npm run dev:web` serves the sources with live reload on :5173 and forwards the API's paths to
 * the API of `npm run dev` (PORT, default 3000).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = `http://127.0.0.1:${process.env.PORT ?? '3000'}`;

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  // React's automatic JSX runtime, compiled by Vite's own transformer (no Babel plugin needed).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One small page: a warning at 500 kB would only be noise; React itself is about 190 kB.
    chunkSizeWarningLimit: 700,
  },
  server: { port: 5173, strictPort: false, proxy: { '/api': api, '/dev': api } },
});
