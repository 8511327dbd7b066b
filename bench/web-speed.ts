/**
 * The web page's first view of a big queue: a personal queue of 10,000 open tasks (carol's, seeded
 * in bulk with SQL for a company of its own), shown in Debian's Chromium until its first page of
 * rows is on screen, beside the time of the same API call (`GET /api/v1/work-queue?limit=50`)
 * from the bench process. Cold: a fresh browser profile (nothing cached). Warm: a reload (the
 * bundles cached, the token in sessionStorage). Both include the page's own sign-in check
 * (`/me`, `/settings`), which the page runs beside its first queue call.
 */
import postgres from 'postgres';
import type { Page } from 'playwright-core';
import { seedCompany } from '../db/seed';
import { buildWebPage } from '../scripts/build-web';
import { launchBrowser, noBrowserReason } from '../test/e2e/browser';
import { percentile, type Rig } from './batch-speed';

export interface WebSpeedFigure {
  tasks: number;
  runs: number;
  /** Rows on the first page (the page asks for 50). */
  rows: number;
  apiP50ms: number;
  apiP95ms: number;
  browserColdP50ms: number;
  browserWarmP50ms: number;
  browserWarmP95ms: number;
  /** Why the figure was not measured (no Chromium here). */
  skipped?: string;
}

const PAGE_SIZE = 50;
const TOKEN_KEY = 'invoiceflow.token';

/** `tasks` invoices in approval, each with one open task for carol and dave. */
async function seedQueue(rig: Rig, tasks: number): Promise<string> {
  const company = await seedCompany(rig.database.db, 'webqueue');
  const sql = postgres(rig.databaseUrl, { max: 1, onnotice: () => {} });
  await sql`
    insert into invoices (id, company_id, vendor_id, document_type, invoice_number, invoice_date, due_date, currency,
                          net, tax, gross, stage, workflow_id, created_at, workflow_started_at)
    select gen_random_uuid(), ${company.companyId}, ${company.vendorId}, 'invoice',
           'W-' || i, date '2026-01-01' + (i % 300), date '2026-02-01' + (i % 300), 'EUR',
           (i % 5000)::numeric, ((i % 5000) / 4)::numeric, ((i % 5000) + (i % 5000) / 4)::numeric,
           'approval', 'webqueue-' || i, now() - make_interval(secs => ${tasks} - i), now()
    from generate_series(1, ${tasks}) i`;
  await sql`
    insert into tasks (id, invoice_id, company_id, stage, step, mode, state, assignees, acted_by, opened_at)
    select i.workflow_id || '/1', i.id, i.company_id, 'approval', 1, 'any', 'open',
           array[${company.users.carol!}, ${company.users.dave!}], '{}'::text[], i.created_at
    from invoices i where i.company_id = ${company.companyId}`;
  await sql`
    insert into task_users (user_id, task_id, relation, invoice_id, state, opened_at)
    select a, t.id, 'assignee', t.invoice_id, 'open', t.opened_at
    from tasks t, unnest(t.assignees) a where t.company_id = ${company.companyId}`;
  await sql`analyze`;
  await sql.end();
  return company.tokens.carol!;
}

/** Milliseconds from the navigation's start until the queue's first page was rendered (the page's own mark). */
async function shownAfter(page: Page): Promise<number> {
  await page
    .locator('table.queue tbody tr')
    .nth(PAGE_SIZE - 1)
    .waitFor();
  // A function, not a string: the page's CSP forbids evaluating strings inside it.
  await page.waitForFunction(() => performance.getEntriesByName('invoiceflow:queue-shown').length > 0);
  return page.evaluate(() => performance.getEntriesByName('invoiceflow:queue-shown')[0]!.startTime);
}

export async function webSpeedFigure(rig: Rig, { tasks = 10_000, runs = 10 } = {}): Promise<WebSpeedFigure> {
  const reason = noBrowserReason();
  const empty = { tasks, runs: 0, rows: 0, apiP50ms: 0, apiP95ms: 0, browserColdP50ms: 0, browserWarmP50ms: 0, browserWarmP95ms: 0 };
  if (reason) return { ...empty, skipped: reason };
  const [token] = await Promise.all([seedQueue(rig, tasks), buildWebPage()]);
  const base = rig.apiUrl.replace(/\/api\/v1$/, '');
  const queueUrl = `${rig.apiUrl}/work-queue?queue=personal&state=open&limit=${PAGE_SIZE}`;

  // The API call alone, as the page makes it (after two to warm up).
  const api: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs + 2; i++) {
    const started = performance.now();
    const res = await fetch(queueUrl, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { items: unknown[] };
    if (i >= 2) api.push(performance.now() - started);
    rows = body.items.length;
  }

  const browser = await launchBrowser();
  const cold: number[] = [];
  const warm: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
      // Signed in already: the token is in sessionStorage, as after the sign-in form.
      await context.addInitScript(`sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, ${JSON.stringify(token)})`);
      const page = await context.newPage();
      await page.goto('/queue');
      cold.push(await shownAfter(page));
      await page.reload();
      warm.push(await shownAfter(page));
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  return {
    tasks,
    runs,
    rows,
    apiP50ms: percentile(sorted(api), 50),
    apiP95ms: percentile(sorted(api), 95),
    browserColdP50ms: percentile(sorted(cold), 50),
    browserWarmP50ms: percentile(sorted(warm), 50),
    browserWarmP95ms: percentile(sorted(warm), 95),
  };
}

/** The figure as the bench's markdown section. */
export function webSpeedTable(f: WebSpeedFigure): string {
  const heading = `\n## Web page: first page of a personal queue of ${f.tasks.toLocaleString('en')} open tasks in Chromium vs the same API call\n`;
  if (f.skipped) return `${heading}\nskipped: ${f.skipped}\n`;
  const ratio = (x: number) => (f.apiP50ms ? (x / f.apiP50ms).toFixed(1) : '-');
  return [
    heading,
    `${f.rows} rows on the first page, ${f.runs} runs each; the page's time runs from navigation start to the rendered rows and includes its sign-in check (/me, /settings, asked beside the queue call).\n`,
    '| measurement | p50 ms | p95 ms | vs API call p50 |',
    '|---|---:|---:|---:|',
    `| GET /api/v1/work-queue?limit=${PAGE_SIZE} (API call alone) | ${f.apiP50ms.toFixed(1)} | ${f.apiP95ms.toFixed(1)} | 1.0 |`,
    `| page shown, warm (reload, bundles cached) | ${f.browserWarmP50ms.toFixed(1)} | ${f.browserWarmP95ms.toFixed(1)} | ${ratio(f.browserWarmP50ms)} |`,
    `| page shown, cold (fresh profile) | ${f.browserColdP50ms.toFixed(1)} | - | ${ratio(f.browserColdP50ms)} |`,
    '',
  ].join('\n');
}
