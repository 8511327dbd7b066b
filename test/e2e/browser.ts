/**
 * The real browser for the end-to-end tests and the web benchmark: Debian's Chromium driven by
 * playwright-core (no browser download), headless, with a fresh profile per launch, against the
 * page the API serves at `/` (built by scripts/build-web.ts), and axe-core run inside it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH overrides it. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function noBrowserReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return `${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium; .ci/run does it) to run the browser tests`;
}

/**
 * `describe` for the browser tests: skipped, with the reason printed, where Chromium is missing
 * on a developer's machine; in CI (CI=true) a missing browser fails the run instead of hiding it.
 */
export function describeInBrowser(name: string, body: () => void): void {
  const reason = noBrowserReason();
  if (!reason || process.env.CI) {
    describe(name, () => {
      if (reason) {
        it('has a browser to run in', () => {
          throw new Error(reason);
        });
        return;
      }
      body();
    });
    return;
  }
  process.stderr.write(`\n[e2e] skipped "${name}": ${reason}\n`);
  describe.skip(name, body);
}

/** Headless Chromium as the machine allows it: no sandbox (root), no GPU, no background connections to Google. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A signed-out browser context on `baseUrl` (its own sessionStorage), noting every request to another host. */
export async function newContext(
  browser: Browser,
  baseUrl: string,
  opts: { width?: number; height?: number } = {},
): Promise<{ context: BrowserContext; page: Page; foreign: string[]; errors: string[] }> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
    locale: 'en-GB',
    timezoneId: 'Europe/Amsterdam',
  });
  const foreign: string[] = [];
  const errors: string[] = [];
  const origin = new URL(baseUrl).origin;
  context.on('request', (req) => {
    // Requests that leave the browser: http(s) and web sockets. (chrome:// and blob: are the browser's own, e.g. its PDF viewer.)
    const url = new URL(req.url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && url.origin !== origin) foreign.push(req.url());
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return { context, page, foreign, errors };
}

export type Session = Awaited<ReturnType<typeof newContext>>;

/**
 * Closes a test's browser contexts, then checks them: nothing came from another host (no CDN,
 * no fonts), and nothing failed in the page but the API's refusals the test asked for.
 */
export async function closeSessions(sessions: readonly Session[]): Promise<void> {
  await Promise.all(sessions.map((s) => s.context.close().catch(() => undefined)));
  for (const s of sessions) {
    expect(s.foreign).toEqual([]);
    expect(s.errors.filter((e) => !/status of (401|403|404|409|412|422)/.test(e))).toEqual([]);
  }
}

/** Signs in through the page's own form with a bearer token; resolves once the work queue shows. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Work queue' }).waitFor();
}

export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

/** Saves a full-page screenshot as test-results/screenshots/<name>.png (the test's artifact). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core inside the page (evaluated through the DevTools protocol, so the page's own CSP
 * stays as it is) and answers the serious and critical violations.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })))`,
  )) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
