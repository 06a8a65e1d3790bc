import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// The console is built into dist/console, which `cordon serve` hands out at `/` (src/server/console.ts).
// `npm run console:dev` serves it with hot reload and forwards /v1 to a running `cordon serve`.
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { '/v1': process.env['CORDON_SERVER'] ?? 'http://127.0.0.1:8787' },
  },
});
