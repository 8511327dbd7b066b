/**
 * List speed with 100,000 invoices: `GET /api/v1/work-queue` and `GET /api/v1/invoices`, 50
 * concurrent connections, no pipelining, against the rig's API process and Postgres, beside an
 * Express hello-world process on the same settings as the baseline. The load generator
 * (autocannon) runs in the bench process. Rows are seeded in bulk with SQL, not through the
 * workflow, for a company of their own so the other figures' queues stay small.
 */
import autocannon from 'autocannon';
import postgres from 'postgres';
import { seedCompany } from '../db/seed';
import { freePort } from '../scripts/temporal-server';
import { spawnProcess, waitUntilAnswering, type Rig } from './batch-speed';

export interface HttpFigure {
  name: string;
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** 100,000 invoices with one task each: 1% open for carol and dave, the rest done. */
export async function seedListInvoices(rig: Rig, count: number): Promise<{ tokens: Record<string, string> }> {
  const company = await seedCompany(rig.database.db, 'lists');
  const sql = postgres(rig.databaseUrl, { max: 1, onnotice: () => {} });
  await sql`
    insert into invoices (id, company_id, vendor_id, document_type, invoice_number, invoice_date, due_date, currency,
                          net, tax, gross, stage, workflow_id, created_at, workflow_started_at)
    select gen_random_uuid(), ${company.companyId}, ${company.vendorId},
           case when i % 20 = 0 then 'credit_note' else 'invoice' end,
           'B-' || i, date '2026-01-01' + (i % 300), date '2026-02-01' + (i % 300), 'EUR',
           (i % 5000)::numeric, ((i % 5000) / 4)::numeric, ((i % 5000) + (i % 5000) / 4)::numeric,
           case when i % 100 = 0 then 'approval' else 'posted' end,
           'lists-' || i, now() - make_interval(secs => ${count} - i), now()
    from generate_series(1, ${count}) i`;
  await sql`
    insert into tasks (id, invoice_id, company_id, stage, step, mode, state, assignees, acted_by, opened_at, closed_at)
    select i.workflow_id || '/1', i.id, i.company_id, 'approval', 1, 'any',
           case when i.stage = 'approval' then 'open' else 'done' end,
           array[${company.users.carol!}, ${company.users.dave!}],
           case when i.stage = 'approval' then '{}'::text[] else array[${company.users.dave!}] end,
           i.created_at, case when i.stage = 'approval' then null else i.created_at end
    from invoices i where i.company_id = ${company.companyId}`;
  await sql`
    insert into task_users (user_id, task_id, relation, invoice_id, state, opened_at)
    select a, id, 'assignee', invoice_id, state, opened_at from tasks, unnest(assignees) a where company_id = ${company.companyId}
    union all
    select a, id, 'actor', invoice_id, state, opened_at from tasks, unnest(acted_by) a where company_id = ${company.companyId}`;
  // Statistics for the tables the seed filled, as autovacuum keeps them in a running database. Not
  // for the others: an empty invoice_reviews analysed as empty makes Postgres rescan it (one lseek
  // each) for every row of a list page, instead of the index probe it uses for a table autovacuum
  // never analysed (still empty) or one with reviews in it: 20 to 50 % of a list page's Postgres
  // time, in a state a running deployment is hardly ever in.
  await sql`analyze invoices, tasks, task_users`;
  await sql.end();
  return { tokens: company.tokens };
}

/** One route under 50 connections for `seconds`. */
export async function load(name: string, url: string, token: string | undefined, seconds: number): Promise<HttpFigure> {
  const result = await autocannon({
    url,
    connections: 50,
    pipelining: 1,
    duration: seconds,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

/** The hello-world baseline and the three list routes, one after the other, on invoices seeded by seedListInvoices. */
export async function listFigures(
  api: string,
  helloUrl: string,
  tokens: Record<string, string>,
  { invoices, seconds }: { invoices: number; seconds: number },
): Promise<HttpFigure[]> {
  return [
    await load('Express hello world (baseline)', helloUrl, undefined, seconds),
    await load(`GET /api/v1/work-queue (${invoices} invoices)`, `${api}/work-queue?queue=personal`, tokens.carol, seconds),
    await load(`GET /api/v1/work-queue?state=done (${invoices} invoices)`, `${api}/work-queue?state=done`, tokens.dave, seconds),
    await load(`GET /api/v1/invoices (${invoices} invoices)`, `${api}/invoices`, tokens.erin, seconds),
  ];
}

/** Starts the hello-world process (same settings as the rig's API); stop it when done. */
export async function startHelloServer(rig: Rig): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const hello = spawnProcess('bench/hello-server.ts', { ...rig.processEnv, PORT: String(port) });
  const url = `http://127.0.0.1:${port}/hello`;
  try {
    await waitUntilAnswering(url);
  } catch (err) {
    await hello.stop();
    throw err;
  }
  return { url, stop: () => hello.stop() };
}

export async function queueSpeedFigures(rig: Rig, { invoices = 100_000, seconds = 10 } = {}): Promise<HttpFigure[]> {
  const { tokens } = await seedListInvoices(rig, invoices);
  const hello = await startHelloServer(rig);
  try {
    return await listFigures(rig.apiUrl, hello.url, tokens, { invoices, seconds });
  } finally {
    await hello.stop();
  }
}
