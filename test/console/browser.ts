import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it); Playwright's own browser download is not used. */
export const CHROMIUM = process.env['CORDON_CHROMIUM'] ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Flags for a machine with no network: no background requests, no first-run, no GPU. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Session {
  browser: Browser;
  /** Console errors, uncaught page errors and failed requests the test did not expect. */
  problems: string[];
  newPage(): Promise<Page>;
  /**
   * A page in a context that lets the test inject a script (the accessibility checker) past the
   * console's content policy. Its console errors are not collected.
   */
  newCheckPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * A headless Chromium (Playwright gives it a fresh, empty profile) whose pages record every
 * console error.
 */
export async function launch(): Promise<Session> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const viewport = { width: 1440, height: 900 };
  const context: BrowserContext = await browser.newContext({ viewport });
  const checks: BrowserContext = await browser.newContext({ viewport, bypassCSP: true });
  const problems: string[] = [];
  context.on('page', (page: Page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });
  return {
    browser,
    problems,
    newPage: () => context.newPage(),
    newCheckPage: () => checks.newPage(),
    close: () => browser.close(),
  };
}

/** WCAG 2 A and AA violations axe-core finds on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (o: object) => Promise<AxeResults> } }).axe;
    const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
  });
  return found;
}

interface AxeResults {
  violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
}

/** Signs in on the console's first page with a token. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url + '/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
}
