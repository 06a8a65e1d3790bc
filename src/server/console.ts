import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { AppEnv } from './api.js';

/**
 * The web console is a static React build (console/, built by `npm run build` into
 * dist/console/) that talks only to the public API under /v1 with the signed-in user's token. The
 * server hands out its files with a strict content policy: scripts, styles and connections from
 * this origin only, no framing, no inline script.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * Where the built console is: $CORDON_CONSOLE_DIR if set (a build of one's own), else dist/console
 * beside the compiled server or under the repo.
 */
export function consoleAssets(env: NodeJS.ProcessEnv = process.env): string | null {
  const own = env['CORDON_CONSOLE_DIR'];
  if (own) return resolve(own);
  const here = fileURLToPath(new URL('.', import.meta.url));
  // Compiled: dist/src/server → dist/console. From the sources (tests): src/server → dist/console.
  for (const candidate of [resolve(here, '../../console'), resolve(here, '../../dist/console')])
    if (existsSync(join(candidate, 'index.html')) && existsSync(join(candidate, 'assets')))
      return candidate;
  return null;
}

export function serveConsole(app: Hono<AppEnv>, dir: string): void {
  const root = resolve(dir);
  const security = {
    'Content-Security-Policy': CONSOLE_CSP,
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  };
  app.get('/', async (c) => {
    const html = await readFile(join(root, 'index.html'));
    return c.body(html, 200, {
      ...security,
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-cache',
    });
  });
  app.get('/assets/*', async (c) => {
    const file = resolve(root, '.' + decodeURIComponent(c.req.path));
    const type = TYPES[extname(file)];
    if (!file.startsWith(root + sep) || type === undefined || !existsSync(file))
      return c.notFound();
    // Built file names carry a content hash: they never change under the same name.
    return c.body(await readFile(file), 200, {
      ...security,
      'Content-Type': type,
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
  });
}
