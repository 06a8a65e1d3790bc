import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleAssets } from '../../src/server/console.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { accessibilityViolations, haveChromium, launch, signIn, type Session } from './browser.js';
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

  /** A fresh tab (its own session storage) signed in as `who`. */
  async function as(who: keyof ConsoleWorkspace['tokens']): Promise<Page> {
    const page = await browser.newPage();
    await signIn(page, server.url, ws.tokens[who]);
    return page;
  }
  const go = (page: Page, hash: string) => page.goto(`${server.url}/${hash}`);

  it('a steward finds the trigger in the scan of the poisoned feed', async () => {
    const page = await as('alice');
    await page.getByRole('link', { name: /1 trigger/ }).click();
    await page.getByRole('heading', { name: 'Triggers' }).waitFor();
    await page.getByRole('heading', { name: 'Findings by kind' }).waitFor();
    await shot(page, 'scan-report');
    const trigger = page.getByRole('row', { name: /cf/ }).first();
    await trigger.getByRole('button', { name: 'Show rows' }).click();
    // The rows that carry it, with the pattern marked in their text.
    await expect.poll(() => page.locator('mark').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect((await page.locator('mark').first().textContent())?.toLowerCase()).toContain('cf');
    await shot(page, 'scan-trigger');
    await page.close();
  });

  it('reviews with the keyboard: drops the trigger rows, relabels the flipped ones, keeps the rest', async () => {
    const page = await as('alice');
    await go(page, '#/review?snapshot=spam@2&kind=trigger');
    await page
      .getByRole('button', { name: /^Show partner-feed\// })
      .first()
      .waitFor();
    await page.locator('body').press('Shift+X');
    await page.getByRole('button', { name: /^Drop 40 selected/ }).waitFor();
    await page.locator('body').press('Shift+D');
    const counts = page.getByTestId('review-counts');
    await expect
      .poll(() => counts.textContent(), { timeout: 30_000 })
      .toMatch(/^40 decided \(40 drop.*\b0 undecided/);

    await go(page, '#/review?snapshot=spam@2&kind=label');
    await page
      .getByRole('button', { name: /^Show / })
      .first()
      .waitFor();
    await page.locator('body').press('Shift+X');
    await page.getByRole('button', { name: /^Relabel \d+ selected/ }).waitFor();
    await page.locator('body').press('Shift+R');
    await page
      .getByRole('group', { name: 'Labels of the dataset' })
      .getByRole('button', { name: 'ham' })
      .click();
    await expect
      .poll(() => counts.textContent(), { timeout: 30_000 })
      .toMatch(/\brelabel\b.*\b0 undecided/);
    expect(await counts.textContent()).not.toMatch(/\b0 relabel/);

    await go(page, '#/review?snapshot=spam@2');
    // The counts follow the filters: wait until they are the whole snapshot's.
    await expect
      .poll(() => counts.textContent(), { timeout: 30_000 })
      .toMatch(/^55 decided.*· [1-9]\d* undecided\s*$/);
    await page.getByRole('button', { name: /^Keep all undecided/ }).click();
    await page.getByRole('button', { name: /^Keep \d+ undecided/ }).click();
    await expect.poll(() => counts.textContent(), { timeout: 30_000 }).toMatch(/\b0 undecided/);
    await shot(page, 'review');
    // A steward may decide but not change the dataset: no Apply button for alice.
    expect(await page.getByRole('button', { name: /^Apply decisions/ }).count()).toBe(0);
    await page.close();
  });

  it('a contributor applies the decisions as spam@3 and scans it, following the job live', async () => {
    const page = await as('carol');
    await go(page, '#/review?snapshot=spam@2');
    await page.getByRole('button', { name: 'Apply decisions to spam@2' }).click();
    await page.getByRole('link', { name: 'Open spam@3' }).waitFor({ timeout: 120_000 });
    await go(page, '#/jobs');
    await page.getByLabel('Snapshot to scan').fill('spam@3');
    await page.getByRole('button', { name: 'Start scan' }).click();
    const followed = page.getByTestId('followed-job');
    await expect
      .poll(() => followed.textContent(), { timeout: 180_000, interval: 500 })
      .toMatch(/succeeded/);
    await shot(page, 'jobs');
    await page.close();
  });

  it('two stewards approve, the gate passes, the snapshot is released and verifies', async () => {
    for (const who of ['alice', 'bob'] as const) {
      const page = await as(who);
      await go(page, '#/approvals');
      await page.getByRole('button', { name: 'Approve spam@3' }).click();
      await expect
        .poll(() => page.getByRole('button', { name: 'Approve spam@3' }).count(), {
          timeout: 30_000,
        })
        .toBe(0);
      await page.close();
    }
    const page = await as('bob');
    await go(page, '#/approvals?snapshot=spam@3');
    await expect
      .poll(() => page.getByTestId('snapshot-state').textContent(), { timeout: 30_000 })
      .toContain('approved');
    await page.getByLabel('Gate policy (YAML)').fill(ws.gatePolicy);
    await page.getByRole('button', { name: 'Run gate' }).click();
    const verdict = page.getByRole('table', { name: /Gate just run on/ });
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.textContent()).toContain('passed');
    await page.getByLabel('Model (optional)').fill('spam-filter-v4');
    await page.getByRole('button', { name: 'Release spam@3' }).click();
    await expect
      .poll(() => page.getByTestId('snapshot-state').textContent(), { timeout: 30_000 })
      .toContain('released');
    await shot(page, 'approvals');

    await go(page, '#/snapshots/spam@3');
    await page.getByRole('button', { name: /^Verify/ }).click();
    await expect
      .poll(() => page.getByRole('status').allTextContents(), { timeout: 60_000 })
      .toEqual(expect.arrayContaining([expect.stringMatching(/verified|Verified/)]));
    await shot(page, 'snapshot');
    await go(page, '#/snapshots/spam@3?tab=diff');
    await page.getByRole('tabpanel').waitFor();
    await shot(page, 'snapshot-diff');
    await go(page, '#/lineage/spam@3');
    await page.getByText('spam-filter-v4').first().waitFor();
    await shot(page, 'lineage');
    await page.close();
    expect(browser.problems).toEqual([]);
  });

  it('an auditor sees no buttons for changes, and the server refuses one anyway', async () => {
    const page = await as('dave');
    await go(page, '#/approvals?snapshot=spam@2');
    await page.getByTestId('snapshot-state').waitFor();
    expect(await page.getByRole('button', { name: /^Sign approval/ }).count()).toBe(0);
    await go(page, '#/review?snapshot=spam@2');
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    expect(await page.getByRole('button', { name: /Drop this record/ }).count()).toBe(0);
    // The request the button would have made, sent anyway: refused and logged.
    const refused = await page.evaluate(async (token) => {
      const res = await fetch('/v1/snapshots/spam@2/approvals', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: '{}',
      });
      return { status: res.status, code: ((await res.json()) as { code: string }).code };
    }, ws.tokens.dave);
    expect(refused).toEqual({ status: 403, code: 'FORBIDDEN' });
    // An auditor of one dataset searches that dataset's part of the log.
    await go(page, '#/audit?kind=authz.deny&dataset=spam');
    await page.getByRole('cell', { name: 'dave' }).first().waitFor();
    await shot(page, 'audit');
    await go(page, '#/identities');
    await page
      .getByRole('heading', { name: /Identities/ })
      .first()
      .waitFor();
    await shot(page, 'identities');
    await page.close();
    // The refused request is the one error the browser reported.
    expect(browser.problems.filter((p) => !/403/.test(p))).toEqual([]);
  });

  it('meets WCAG 2 A and AA on every page, as axe-core checks them', async () => {
    const page = await browser.newCheckPage();
    await signIn(page, server.url, ws.tokens.alice);
    const found: string[] = [];
    for (const hash of [
      '#/datasets',
      '#/snapshots/spam@3',
      '#/snapshots/spam@3?tab=diff&against=spam@2',
      '#/review?snapshot=spam@2',
      '#/approvals?snapshot=spam@3',
      '#/lineage/spam@3',
      '#/jobs',
      '#/audit?dataset=spam',
      '#/identities',
    ]) {
      await go(page, hash);
      await page.waitForLoadState('networkidle');
      for (const v of await accessibilityViolations(page)) found.push(`${hash}: ${v}`);
    }
    const scans = (await (
      await fetch(`${server.url}/v1/snapshots/spam@2/scans`, {
        headers: { Authorization: `Bearer ${ws.tokens.alice}` },
      })
    ).json()) as { scans: { id: string }[] };
    await go(page, `#/snapshots/spam@2/scans/${scans.scans.at(-1)!.id}`);
    await page.waitForLoadState('networkidle');
    for (const v of await accessibilityViolations(page)) found.push(`scan report: ${v}`);
    expect(found).toEqual([]);
    // The checker does find what it should: an input without a label.
    await page.evaluate(() => {
      const input = (
        globalThis as unknown as { document: { createElement(t: string): object } }
      ).document.createElement('input');
      (
        globalThis as unknown as { document: { body: { append(n: object): void } } }
      ).document.body.append(input);
    });
    expect((await accessibilityViolations(page)).join('\n')).toMatch(/^label \(critical\)/m);
    await page.close();
  });
});
