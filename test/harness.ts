/**
 * The real stack for an integration test file: Postgres, the Temporal dev server from global
 * setup, a worker with the real activities, and the API listening on a free port.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createApp } from '../api/app';
import { connectDatabase, type Database } from '../db/client';
import { apiTokens, approvalLimits, users, vendors } from '../db/schema';
import { hashToken } from '../lib/tokens';
import { seedCompany, type SeededCompany } from '../db/seed';
import { loadConfig, replyAddressing } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import type { Poller } from '../lib/poller';
import { startInvoiceStarter } from '../worker/invoice-starter';
import { startMailDispatcher } from '../worker/mail-dispatcher';
import { createInvoiceWorker, type Activities } from '../worker/worker';

export interface Stack {
  database: Database;
  temporal: Client;
  company: SeededCompany;
  baseUrl: string;
  /** Calls the API; `token` is a user's first name in the seeded company, or a raw token with `raw:`. */
  api(
    method: string,
    path: string,
    opts?: { as?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse>;
  /** Shuts the worker down (as a deploy or a crash-restart would) and starts a fresh one. */
  restartWorker(): Promise<void>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read response bodies freely
  body: any;
}

/** The reply addressing of the tests' stacks: the development default, as the worker has it without REPLY_SECRET. */
export const TEST_REPLY_ADDRESSING = replyAddressing(loadConfig({ NODE_ENV: 'test' }));

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (global setup sets it)`);
  return value;
}

/** The SDK's own logs only from WARN up (TEST_VERBOSE=1 for all); the runtime is installed once per process. */
function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger(process.env.TEST_VERBOSE ? 'INFO' : 'ERROR') });
  } catch {
    // already installed by an earlier test file in this process
  }
}

export async function startStack(
  opts: { wrapActivities?: (a: Activities) => Activities; smtpUrl?: string; maxHistoryEvents?: number } = {},
): Promise<Stack> {
  quietRuntime();
  const database = connectDatabase(env('TEST_DATABASE_URL'));
  const address = env('TEST_TEMPORAL_ADDRESS');
  const connection = await Connection.connect({ address });
  const temporal = new Client({ connection, namespace: 'default' });
  const nativeConnection = await NativeConnection.connect({ address });
  const company = await seedCompany(database.db, `t${randomBytes(4).toString('hex')}`);

  const mailer = createMailer(opts.smtpUrl);
  const real = createActivities({ db: database.db, mailer, clock: () => new Date() });
  const newWorker = () =>
    createInvoiceWorker({
      connection: nativeConnection,
      namespace: 'default',
      activities: opts.wrapActivities ? opts.wrapActivities(real) : real,
      workflowBundle: { codePath: env('TEST_WORKFLOW_BUNDLE') },
    });
  let worker: Worker = await newWorker();
  let running = worker.run();

  const logger = createLogger('api-test', process.env.TEST_VERBOSE ? 'info' : 'silent');
  const dispatcher: Poller = startMailDispatcher({
    db: database.db,
    addressing: TEST_REPLY_ADDRESSING,
    mailer,
    mailFrom: 'invoiceflow <invoiceflow@localhost>',
    log: logger,
    intervalMs: 200,
  });
  const starter: Poller = startInvoiceStarter({ db: database.db, temporal, log: logger, intervalMs: 500, graceMs: 1000 });
  const server: Server = await new Promise((resolve) => {
    const app = createApp({ database, temporal, logger, ...(opts.maxHistoryEvents ? { maxHistoryEvents: opts.maxHistoryEvents } : {}) });
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    database,
    temporal,
    company,
    baseUrl,
    async api(method, path, { as, body, rawBody, headers = {} } = {}) {
      const token = as === undefined ? undefined : as.startsWith('raw:') ? as.slice(4) : company.tokens[as];
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async restartWorker() {
      worker.shutdown();
      await running;
      worker = await newWorker();
      running = worker.run();
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([dispatcher.stop(), starter.stop()]);
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await database.close();
    },
  };
}

/** Polls `probe` until it returns a value that `done` accepts, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let invoiceCounter = 0;

/** A valid JSON invoice for the seeded vendor; override any field. */
export function invoiceBody(stack: Stack, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  invoiceCounter += 1;
  return {
    vendor: { id: stack.company.vendorId },
    documentType: 'invoice',
    invoiceNumber: `INV-${Date.now()}-${invoiceCounter}`,
    invoiceDate: '2026-11-01',
    dueDate: '2026-12-01',
    currency: 'EUR',
    net: '1000.00',
    tax: '250.00',
    gross: '1250.00',
    lines: [
      { description: 'Paper, A4, 80 g', quantity: '100', unitPrice: '6.00', net: '600.00', taxRate: '25' },
      { description: 'Pens, blue', quantity: '200', unitPrice: '2.00', net: '400.00', taxRate: '25' },
    ],
    ...overrides,
  };
}

/**
 * Waits until the invoice (in Postgres, as the work queue sees it) is in `stage`; for `new`, also
 * until its workflow has opened the clerk task (a new invoice is in `new` before it is prepared).
 */
export async function waitForStage(stack: Stack, invoiceId: string, stage: string, as = 'erin'): Promise<Record<string, unknown>> {
  const res = await waitFor(
    () => stack.api('GET', `/api/v1/invoices/${invoiceId}`, { as }),
    (r) => r.status === 200 && r.body.stage === stage && (stage !== 'new' || r.body.tasks.length > 0),
  );
  return res.body as Record<string, unknown>;
}

/** A vendor of its own using a new flow template (created through the API by the admin erin). */
export async function vendorWithFlow(stack: Stack, name: string, steps: unknown[]): Promise<string> {
  const created = await stack.api('POST', '/api/v1/flow-templates', { as: 'erin', body: { name, steps } });
  if (created.status !== 201) throw new Error(`flow template refused: ${JSON.stringify(created.body)}`);
  const [vendor] = await stack.database.db
    .insert(vendors)
    .values({ companyId: stack.company.companyId, name, flowTemplateId: created.body.id as string })
    .returning();
  return vendor!.id;
}

/**
 * A user of the stack's company, `<slug>.<name>` with the token `<slug>-<name>`, straight into
 * the database; `stack.company.users[name]` and `tokens[name]` know them afterwards.
 */
export async function addUser(
  stack: Stack,
  name: string,
  opts: { roles: string[]; limit?: string | null; confidential?: boolean; costCentres?: string[]; active?: boolean },
): Promise<string> {
  const slug = stack.company.users.alice!.split('.')[0]!;
  const id = `${slug}.${name}`;
  await stack.database.db.insert(users).values({
    id,
    companyId: stack.company.companyId,
    name,
    email: `${name}@${slug}.example`,
    roles: opts.roles as never,
    confidential: opts.confidential ?? false,
    costCentres: opts.costCentres ?? [],
    active: opts.active ?? true,
  });
  await stack.database.db.insert(apiTokens).values({ userId: id, tokenHash: hashToken(`${slug}-${name}`), label: 'test' });
  if (opts.limit !== undefined) await stack.database.db.insert(approvalLimits).values({ userId: id, currency: '*', amount: opts.limit });
  stack.company.tokens[name] = `${slug}-${name}`;
  stack.company.users[name] = id;
  return id;
}
