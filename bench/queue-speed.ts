/**
 * List speed with 100,000 invoices: `GET /api/v1/work-queue` and `GET /api/v1/invoices`, 50
 * concurrent connections, no pipelining, against the real API and Postgres, beside an Express
 * hello-world route on the same process settings as the baseline. Rows are seeded in bulk with
 * SQL, not through the workflow.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import autocannon from 'autocannon';
import express from 'express';
import postgres from 'postgres';
import { createApp } from '../api/app';
import { connectDatabase } from '../db/client';
import { seedCompany } from '../db/seed';
import { createLogger } from '../lib/logger';
import { createScratchDatabase } from '../scripts/scratch-database';

export interface HttpFigure {
  name: string;
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** 100,000 invoices with one task each: 1% open for carol and dave, the rest done. */
async function seedInvoices(url: string, count: number): Promise<{ tokens: Record<string, string> }> {
  const database = connectDatabase(url, { max: 1 });
  const company = await seedCompany(database.db, 'bench');
  await database.close();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`
    insert into invoices (id, company_id, vendor_id, document_type, invoice_number, invoice_date, due_date, currency,
                          net, tax, gross, stage, workflow_id, created_at)
    select gen_random_uuid(), ${company.companyId}, ${company.vendorId},
           case when i % 20 = 0 then 'credit_note' else 'invoice' end,
           'B-' || i, date '2026-01-01' + (i % 300), date '2026-02-01' + (i % 300), 'EUR',
           (i % 5000)::numeric, ((i % 5000) / 4)::numeric, ((i % 5000) + (i % 5000) / 4)::numeric,
           case when i % 100 = 0 then 'approval' else 'posted' end,
           'bench-' || i, now() - make_interval(secs => ${count} - i)
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
    select a, id, 'assignee', invoice_id, state, opened_at from tasks, unnest(assignees) a
    union all
    select a, id, 'actor', invoice_id, state, opened_at from tasks, unnest(acted_by) a`;
  await sql`analyze`;
  await sql.end();
  return { tokens: company.tokens };
}

async function load(name: string, url: string, token: string | undefined, seconds: number): Promise<HttpFigure> {
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

export async function queueSpeedFigures({ invoices = 100_000, seconds = 10 } = {}): Promise<HttpFigure[]> {
  const db = await createScratchDatabase('invoiceflow_bench');
  const servers: Server[] = [];
  try {
    const { tokens } = await seedInvoices(db.url, invoices);
    const database = connectDatabase(db.url, { max: 10 });
    // The list routes never call Temporal; a lazy connection is never opened.
    const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const listen = (app: express.Express) =>
      new Promise<string>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`));
        servers.push(s);
      });
    const api = await listen(createApp({ database, temporal, logger: createLogger('bench', 'silent') }));
    const hello = express();
    hello.get('/hello', (_req, res) => {
      res.json({ hello: 'world' });
    });
    const helloUrl = await listen(hello);
    const figures = [
      await load('Express hello world (baseline)', `${helloUrl}/hello`, undefined, seconds),
      await load(`GET /api/v1/work-queue (${invoices} invoices)`, `${api}/api/v1/work-queue?queue=personal`, tokens.carol, seconds),
      await load(`GET /api/v1/work-queue?state=done (${invoices} invoices)`, `${api}/api/v1/work-queue?state=done`, tokens.dave, seconds),
      await load(`GET /api/v1/invoices (${invoices} invoices)`, `${api}/api/v1/invoices`, tokens.erin, seconds),
    ];
    await database.close();
    return figures;
  } finally {
    for (const s of servers) s.close();
    await db.stop();
  }
}
