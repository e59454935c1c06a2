import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

// The dispatcher console: a second Vite app, served by doorstep-hq at /console/.
// It shares styles, formatting and translations with the technician app (src/lib).
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./console'),
  base: '/console/',
  plugins: [svelte({ configFile: false, preprocess: vitePreprocess() })],
  clearScreen: false,
  // The console's dev server proxies the API to a local HQ.
  server: {
    port: 1421,
    strictPort: true,
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
  build: {
    outDir: here('./dist-console'),
    emptyOutDir: true,
    target: 'es2022',
  },
});
