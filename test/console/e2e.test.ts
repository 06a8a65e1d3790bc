import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleAssets } from '../../src/server/console.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { haveChromium, launch, signIn, type Session } from './browser.js';
import { consoleWorkspace, type ConsoleWorkspace } from './workspace.js';

// The console's end-to-end tests drive Debian's Chromium against `cordon serve` over a workspace
// where a partner feed poisoned "spam@2". They need the built console (`npm run build`, which the
// test command runs first). CI must not skip them: CORDON_REQUIRE_SERVICES makes a missing
// browser or build a failure.
const built = consoleAssets() !== null;
const required = process.env['CORDON_REQUIRE_SERVICES'] === '1';
const ready = haveChromium && built;
if (required && !ready)
  throw new Error(
    `the console tests need ${haveChromium ? '' : 'Chromium (/usr/bin/chromium) '}${built ? '' : 'the built console (npm run build)'}`,
  );

/** Screenshots for docs/console/ when CORDON_SCREENSHOTS=1 (`npm run console:screenshots`). */
const SHOTS =
  process.env['CORDON_SCREENSHOTS'] === '1'
    ? join(import.meta.dirname, '../../docs/console')
    : null;
async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

describe.runIf(ready)('web console', () => {
  let ws: ConsoleWorkspace;
  let server: RunningServer;
  let browser: Session;
  beforeAll(async () => {
    ws = await consoleWorkspace();
    server = await startServer({ workspaceDir: ws.dir, host: '127.0.0.1', port: 0, log: () => {} });
    browser = await launch();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (ws) rmSync(ws.base, { recursive: true, force: true });
  });

  it('serves the console under a strict content policy, and nothing without a token', async () => {
    const res = await fetch(server.url + '/');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect((await fetch(server.url + '/v1/datasets')).status).toBe(401);
  });

  it('signs in with a token and refuses a bad one', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    await page.getByLabel('API token').fill('cordon_pat_live_nope_nope');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('refused');
    await shot(page, 'sign-in');
    await signIn(page, server.url, ws.tokens.alice);
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toContain('alice');
    await page.getByRole('row', { name: /spam@2/ }).waitFor();
    await shot(page, 'datasets');
    await page.close();
    // The refused sign-in is the one error the browser may report.
    const unexpected = browser.problems.filter((p) => !/401/.test(p));
    expect(unexpected).toEqual([]);
    browser.problems.length = 0;
  });
});
