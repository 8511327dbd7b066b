/**
 * SPEC 2.5 / 2.6: a mass posting of 1,000 sales invoices survives its worker being killed
 * (SIGKILL, in the middle of the run) and ends with 1,000 journal entries, none twice. The worker
 * runs as a process of its own on a task queue of its own, so the kill is a real crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { and, count, eq, sql } from 'drizzle-orm';
import { createApp } from '../../api/app';
import { connectDatabase, type Database } from '../../db/client';
import { salesInvoices } from '../../db/schema';
import { seedCompany, type SeededCompany } from '../../db/seed';
import { createLogger } from '../../lib/logger';
import { waitFor } from '../harness';
import { bulkSalesInvoices, salesMasterData } from '../sales-fixtures';

jest.setTimeout(120_000);

const queue = `sales-crash-${randomBytes(4).toString('hex')}`;
let database: Database;
let connection: Connection;
let server: Server;
let baseUrl: string;
let company: SeededCompany;
let worker: ChildProcess | undefined;

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'sales-worker.ts')], {
    env: { ...process.env, SALES_TASK_QUEUE: queue },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${baseUrl}/api/v1${url}`, {
    method,
    headers: { authorization: `Bearer ${company.tokens.alice}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  database = connectDatabase(process.env.TEST_DATABASE_URL!);
  connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  const temporal = new Client({ connection, namespace: 'default' });
  company = await seedCompany(database.db, `c${randomBytes(4).toString('hex')}`);
  const app = createApp({
    database,
    temporal,
    logger: createLogger('sales-crash-test', 'silent'),
    salesPosting: { taskQueue: queue, chunkSize: 20, heartbeatTimeoutSeconds: 3 },
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  worker = await startWorker();
});

afterAll(async () => {
  await kill(worker);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await connection.close();
  await database.close();
});

test('a worker killed in the middle of a 1,000-invoice posting: 1,000 journals at the end, none twice', async () => {
  const { customerId, productId } = await salesMasterData(database.db, company.companyId, 'crash');
  const ids = await bulkSalesInvoices(database.db, { companyId: company.companyId, customerId, productId, count: 1000, prefix: 'CRASH' });
  const preview = await api('POST', '/sales-invoices/post-preview', { ids });
  expect(preview.status).toBe(200);
  expect(preview.body.summary).toMatchObject({ selected: 1000, postable: 1000, blocked: 0, customerItemsToCreate: 1000 });
  const posted = await api('POST', '/sales-invoices/post', {
    previewToken: preview.body.previewToken,
    confirm: true,
    mode: 'postable-only',
  });
  expect(posted.status).toBe(202);
  const postingId = posted.body.postingId as string;

  const postedSoFar = async () =>
    (
      await database.db
        .select({ n: count() })
        .from(salesInvoices)
        .where(and(eq(salesInvoices.postingId, postingId), eq(salesInvoices.state, 'posted')))
    )[0]!.n;
  const atKill = await waitFor(postedSoFar, (n) => n >= 100, 30_000);
  await kill(worker);
  expect(atKill).toBeLessThan(1000); // killed in the middle of the run, not after it
  worker = await startWorker();

  const done = await waitFor(
    () => api('GET', `/sales-postings/${postingId}`),
    (r) => r.body.state === 'completed',
    60_000,
  );
  expect(done.body).toMatchObject({ total: 1000, posted: 1000, customerItems: 1000, refused: [] });
  const [journals] = await database.db.execute<{ entries: number; invoices: number; unbalanced: number }>(sql`
    select count(*)::int as entries, count(distinct e.sales_invoice_id)::int as invoices,
      (select count(*)::int from (
        select l.entry_id from journal_lines l join journal_entries e2 on e2.id = l.entry_id
        where e2.company_id = ${company.companyId} group by l.entry_id having sum(l.debit) <> sum(l.credit)) u) as unbalanced
    from journal_entries e where e.company_id = ${company.companyId}`);
  expect(journals).toEqual({ entries: 1000, invoices: 1000, unbalanced: 0 });
});
