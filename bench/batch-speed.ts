/**
 * Batch approve of N invoices through the real API, worker and Temporal dev server (SQLite file,
 * WAL), against N bare Updates to trivial waiting workflows on the same server with the same
 * concurrency: wall time and per-invoice latency percentiles, and their ratio.
 */
import { writeWorkflowBundle } from '../scripts/bundle-workflows';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { BATCH_CONCURRENCY } from '../api/batch-service';
import { connectDatabase } from '../db/client';
import { seedCompany } from '../db/seed';
import { agreements, journalEntries, settings, tasks, vendors } from '../db/schema';
import { mapConcurrent } from '../lib/concurrency';
import { withCpuProfile, type CpuProfile } from './cpu';
import { WORKER_PROCESS_DEFAULTS } from '../worker/settings';
import { createScratchDatabase } from '../scripts/scratch-database';
import { freePort, startTemporalDevServer } from '../scripts/temporal-server';
import { and, eq, inArray, sql } from 'drizzle-orm';

export interface LatencyFigure {
  name: string;
  count: number;
  wallSeconds: number;
  perSecond: number;
  p50ms: number;
  p95ms: number;
  p99ms: number;
  /** CPU by process during the measured part (not the set-up before it). */
  cpu?: CpuProfile;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function figure(name: string, latencies: number[], wallMs: number): LatencyFigure {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    count: latencies.length,
    wallSeconds: wallMs / 1000,
    perSecond: latencies.length / (wallMs / 1000),
    p50ms: percentile(sorted, 50),
    p95ms: percentile(sorted, 95),
    p99ms: percentile(sorted, 99),
  };
}

export interface Rig {
  client: Client;
  /** The invoice worker's process, for its resident memory (the current one, after a restart). */
  workerPid: number;
  database: ReturnType<typeof connectDatabase>;
  /** The scratch database's URL, for bulk seeding. */
  databaseUrl: string;
  /** The environment the worker and API processes run with (for more processes on the same settings). */
  processEnv: NodeJS.ProcessEnv;
  companyId: string;
  codingTemplateId: string;
  users: Record<string, string>;
  apiUrl: string;
  tokens: Record<string, string>;
  vendorId: string;
  /** Stops the Temporal dev server, waits `downMs`, and starts it again on the same port and SQLite file. */
  restartTemporal(opts?: { downMs?: number }): Promise<void>;
  /** Ends the worker process with `signal` (SIGKILL: a crash; SIGTERM: a deploy) and starts a new one. */
  restartWorker(signal?: NodeJS.Signals): Promise<void>;
  /** Worker or API processes that exited on their own (each was started again a second later). */
  unexpectedExits: ProcessExit[];
  stop(): Promise<void>;
}

export interface RigOptions {
  /** The PostgreSQL server for the scratch database; default DATABASE_URL, else an embedded one. */
  postgresUrl?: string;
  /** The seeded company's slug, also in the scratch database's name; default 'bench'. */
  company?: string;
  /** Extra environment for the worker and API processes (e.g. SMTP_URL). */
  env?: Record<string, string>;
  /** The trivial baseline workflows' worker in this process; default true. */
  baselineWorker?: boolean;
  /** Where the Temporal SQLite file goes; default a new temporary directory. */
  dataDir?: string;
  /** Writes each process's output to `<logDir>/<worker|api>.log` instead of inheriting stderr. */
  logDir?: string;
  /** Gives the worker a workflow bundle built ahead (WORKFLOW_BUNDLE), as the Docker image does; default false: it bundles at start. */
  bundleAhead?: boolean;
}

export interface ProcessExit {
  entry: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  at: Date;
}

/**
 * Temporal dev server (WAL SQLite file), scratch Postgres, invoice worker, baseline worker and the
 * API. The worker and the API are started again when they exit on their own, as a deployment's
 * restart policy would (`restart: unless-stopped` in docker-compose.yml).
 */
export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed
  }
  const tmp = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'invoiceflow-bench-')));
  await chmod(tmp, 0o755);
  const stops: (() => Promise<void>)[] = [];
  const dbFilename = path.join(tmp, 'temporal.sqlite');
  let temporal = await startTemporalDevServer({ port: 0, headless: true, dbFilename });
  const temporalPort = Number(temporal.address.slice(temporal.address.lastIndexOf(':') + 1));
  stops.unshift(() => temporal.stop());
  const slug = opts.company ?? 'bench';
  const scratch = await createScratchDatabase(`invoiceflow_${slug}`, opts.postgresUrl);
  stops.unshift(scratch.stop);
  const database = connectDatabase(scratch.url, { max: 20 });
  stops.unshift(() => database.close());
  const company = await seedCompany(database.db, slug);
  await database.db.update(settings).set({ useWorkqueueSend: true }).where(eq(settings.companyId, company.companyId));

  // The worker and the API run as their own processes, started as in production (from source).
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: scratch.url,
    TEMPORAL_ADDRESS: temporal.address,
    PORT: String(port),
    // Production refuses to start without it (supplier mails sign their reply addresses).
    REPLY_SECRET: process.env.REPLY_SECRET ?? randomBytes(24).toString('hex'),
    ...opts.env,
  };
  if (opts.bundleAhead) env.WORKFLOW_BUNDLE = await writeWorkflowBundle(path.join(tmp, 'workflow-bundle.js'));
  const unexpectedExits: ProcessExit[] = [];
  const logFile = (name: string) => (opts.logDir ? path.join(opts.logDir, `${name}.log`) : undefined);
  // The worker starts as docker-compose.yml starts it (WORKER_PROCESS_DEFAULTS), with tsx's
  // CommonJS hook only: `--import tsx` adds an ES-module loader thread, about 30 MiB resident.
  const workerEnv = { ...env, MALLOC_ARENA_MAX: env.WORKER_MALLOC_ARENA_MAX ?? WORKER_PROCESS_DEFAULTS.mallocArenaMax };
  const workerNodeArgs = [
    '--require',
    'tsx/cjs',
    ...(env.WORKER_NODE_OPTIONS ?? WORKER_PROCESS_DEFAULTS.nodeOptions).split(' ').filter(Boolean),
  ];
  const worker = superviseProcess('worker/main.ts', workerEnv, logFile('worker'), unexpectedExits, workerNodeArgs);
  stops.unshift(worker.stop);
  const api = superviseProcess('api/main.ts', env, logFile('api'), unexpectedExits, [
    '--import',
    'tsx',
    ...(env.BENCH_API_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
  ]);
  stops.unshift(api.stop);

  if (opts.baselineWorker ?? true) {
    // The baseline workflows run on a worker of their own in this process.
    const native = await NativeConnection.connect({ address: temporal.address });
    const baselineWorker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue: 'bench-baseline',
      workflowsPath: require.resolve('./baseline-workflows'),
      activities: { noop: async () => {} },
    });
    const running = baselineWorker.run();
    stops.unshift(async () => {
      baselineWorker.shutdown();
      await running;
      await native.close();
    });
  }
  const connection = await Connection.connect({ address: temporal.address });
  stops.unshift(() => connection.close());
  const client = new Client({ connection });
  const apiBase = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(`${apiBase}/readyz`);
  const rig: Rig = {
    client,
    database,
    databaseUrl: scratch.url,
    processEnv: env,
    companyId: company.companyId,
    codingTemplateId: company.codingTemplateId,
    users: company.users,
    apiUrl: `${apiBase}/api/v1`,
    workerPid: worker.pid,
    tokens: company.tokens,
    vendorId: company.vendorId,
    unexpectedExits,
    restartTemporal: async ({ downMs = 0 } = {}) => {
      await temporal.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      temporal = await startTemporalDevServer({ port: temporalPort, headless: true, dbFilename });
    },
    restartWorker: async (signal = 'SIGTERM') => {
      await worker.restart(signal);
      rig.workerPid = worker.pid;
    },
    stop: async () => {
      for (const stop of stops) await stop().catch(() => {});
    },
  };
  return rig;
}

export async function call(
  rig: Rig,
  as: string,
  method: string,
  p: string,
  body?: unknown,
  accept = 'application/json',
): Promise<Response> {
  return fetch(`${rig.apiUrl}${p}`, {
    method,
    headers: { authorization: `Bearer ${rig.tokens[as]}`, 'content-type': 'application/json', accept },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Registers one EUR 125.00 invoice through the API as alice; returns its id. */
export async function postInvoice(
  rig: Rig,
  vendorId: string,
  invoiceNumber: string,
  invoiceDate: string,
  dueDate = invoiceDate,
): Promise<string> {
  const res = await call(rig, 'alice', 'POST', '/invoices', {
    vendor: { id: vendorId },
    invoiceNumber,
    invoiceDate,
    dueDate,
    currency: 'EUR',
    net: '100.00',
    tax: '25.00',
    gross: '125.00',
  });
  if (res.status !== 201) throw new Error(`intake answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** N invoices registered through the API, waiting in `new` with their workflows prepared. */
export async function intakeInvoices(rig: Rig, count: number, tag: string): Promise<string[]> {
  const ids = await mapConcurrent(
    Array.from({ length: count }, (_, i) => i),
    16,
    (i) => postInvoice(rig, rig.vendorId, `${tag}-${i}`, '2026-11-01', '2026-12-01'),
  );
  await waitForClerkTasks(rig, ids);
  return ids;
}

/** Waits until every invoice's workflow has opened its clerk task (read from the task table). */
async function waitForClerkTasks(rig: Rig, ids: string[]): Promise<void> {
  for (;;) {
    let open = 0;
    for (let i = 0; i < ids.length; i += 5000) {
      const [row] = await rig.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(tasks)
        .where(and(inArray(tasks.invoiceId, ids.slice(i, i + 5000)), eq(tasks.stage, 'new'), eq(tasks.state, 'open')));
      open += row!.n;
    }
    if (open >= ids.length) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function batchApproveFigure(rig: Rig, count: number): Promise<LatencyFigure> {
  const ids = await intakeInvoices(rig, count, `BATCH${count}-${Date.now()}`);
  const started = performance.now();
  const { result: lines, cpu } = await withCpuProfile(async () => {
    const res = await call(rig, 'alice', 'POST', '/work-queue/batch', { action: 'approve', invoiceIds: ids }, 'application/x-ndjson');
    return (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ms?: number; ok?: boolean; done?: boolean; failed?: number });
  });
  const wall = performance.now() - started;
  const summary = lines.at(-1)!;
  if (!summary.done || summary.failed)
    throw new Error(`batch of ${count} had failures: ${JSON.stringify(lines.filter((l) => l.ok === false).slice(0, 3))}`);
  return {
    ...figure(
      `batch approve of ${count} invoices (API, ${BATCH_CONCURRENCY} in flight)`,
      lines.filter((l) => typeof l.ms === 'number').map((l) => l.ms!),
      wall,
    ),
    cpu,
  };
}

export async function bareUpdatesFigure(rig: Rig, count: number): Promise<LatencyFigure> {
  const ids = Array.from({ length: count }, (_, i) => `bench-waiting-${Date.now()}-${i}`);
  await mapConcurrent(ids, 16, (workflowId) => rig.client.workflow.start('waitingWorkflow', { workflowId, taskQueue: 'bench-baseline' }));
  // Like the invoices (prepared before the batch), every waiting workflow has run its first task.
  await mapConcurrent(ids, 16, async (workflowId) => {
    while ((await rig.client.workflow.getHandle(workflowId).describe()).historyLength < 3) await new Promise((r) => setTimeout(r, 50));
  });
  const latencies: number[] = [];
  const started = performance.now();
  const { cpu } = await withCpuProfile(() =>
    mapConcurrent(ids, BATCH_CONCURRENCY, async (workflowId, i) => {
      const t = performance.now();
      await rig.client.workflow.getHandle(workflowId).executeUpdate('ping', { args: [i] });
      latencies.push(performance.now() - t);
    }),
  );
  const wall = performance.now() - started;
  await mapConcurrent(ids, 16, (workflowId) => rig.client.workflow.getHandle(workflowId).signal('stop'));
  return { ...figure(`${count} bare updates to waiting trivial workflows (${BATCH_CONCURRENCY} in flight)`, latencies, wall), cpu };
}

export interface ThroughputFigure {
  name: string;
  count: number;
  wallSeconds: number;
  perSecond: number;
  /** CPU by process during the measured part. */
  cpu?: CpuProfile;
}

/** A new vendor with a touchless agreement (any gross up to 1,000.00, one day apart) signed by dave. */
export async function touchlessVendor(rig: Rig, name: string): Promise<{ id: string }> {
  const [vendor] = await rig.database.db
    .insert(vendors)
    .values({ companyId: rig.companyId, name: `${name} ${Date.now()}` })
    .returning();
  await rig.database.db.insert(agreements).values({
    companyId: rig.companyId,
    vendorId: vendor!.id,
    amountFrom: '1.00',
    amountTo: '1000.00',
    days: 1,
    codingTemplateId: rig.codingTemplateId,
    approvalUserId: rig.users.dave!,
  });
  return vendor!;
}

/** Touchless agreement invoices from intake (API) to posted, N at once, 16 intakes in flight. */
export async function touchlessFigure(rig: Rig, count: number): Promise<ThroughputFigure & { sampleInvoiceId: string }> {
  const vendor = await touchlessVendor(rig, 'Touchless');
  const started = performance.now();
  const { result: ids, cpu } = await withCpuProfile(async () => {
    const ids = await mapConcurrent(
      Array.from({ length: count }, (_, i) => i),
      16,
      async (i) => {
        const day = new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
        return postInvoice(rig, vendor.id, `T-${i}`, day);
      },
    );
    for (;;) {
      const [row] = await rig.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(journalEntries)
        .where(inArray(journalEntries.invoiceId, ids));
      if (row!.n >= count) return ids;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  const wall = performance.now() - started;
  return {
    name: `touchless agreement invoices, intake to posted`,
    count,
    wallSeconds: wall / 1000,
    perSecond: count / (wall / 1000),
    sampleInvoiceId: ids[0]!,
    cpu,
  };
}

/** The trivial baseline: N workflows of one no-op activity, started 16 at a time, to completion. */
export async function trivialWorkflowFigure(rig: Rig, count: number): Promise<ThroughputFigure & { sampleWorkflowId: string }> {
  const prefix = `bench-trivial-${Date.now()}`;
  const started = performance.now();
  const { cpu } = await withCpuProfile(() =>
    mapConcurrent(
      Array.from({ length: count }, (_, i) => i),
      16,
      async (i) => {
        const handle = await rig.client.workflow.start('trivialWorkflow', { workflowId: `${prefix}-${i}`, taskQueue: 'bench-baseline' });
        await handle.result();
      },
    ),
  );
  const wall = performance.now() - started;
  return {
    name: 'trivial workflow (one no-op activity)',
    count,
    wallSeconds: wall / 1000,
    perSecond: count / (wall / 1000),
    sampleWorkflowId: `${prefix}-0`,
    cpu,
  };
}

export interface SpawnedProcess {
  pid: number;
  /** Resolves once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** SIGTERM, SIGKILL after 15 s; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node <nodeArgs> <entry>` (default `--import tsx`) from the project root; stop() ends it
 * with SIGTERM. Its stdout and stderr are appended to `logFile` when given; otherwise stderr is inherited.
 */
export function spawnProcess(entry: string, env: NodeJS.ProcessEnv, logFile?: string, nodeArgs = ['--import', 'tsx']): SpawnedProcess {
  const root = path.resolve(__dirname, '..');
  const log = logFile ? openSync(logFile, 'a') : undefined;
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, entry)], {
    cwd: root,
    env,
    stdio: log === undefined ? ['ignore', 'ignore', 'inherit'] : ['ignore', log, log],
  });
  if (log !== undefined) closeSync(log); // the child has its own copy
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // A parent that exits without stop() (a crash, process.exit) must not leave the process behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    exited,
    kill: async (signal) => {
      if (running()) child.kill(signal);
      await exited;
    },
    stop: async () => {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A process started again a second after it exits on its own; `exits` records each such exit. */
function superviseProcess(
  entry: string,
  env: NodeJS.ProcessEnv,
  logFile: string | undefined,
  exits: ProcessExit[],
  nodeArgs?: string[],
): { readonly pid: number; restart(signal: NodeJS.Signals): Promise<void>; stop(): Promise<void> } {
  let stopped = false;
  const endedOnPurpose = new WeakSet<SpawnedProcess>();
  let current: SpawnedProcess;
  const start = () => {
    const p = spawnProcess(entry, env, logFile, nodeArgs);
    current = p;
    void p.exited.then(({ code, signal }) => {
      if (stopped || endedOnPurpose.has(p)) return;
      exits.push({ entry, code, signal, at: new Date() });
      setTimeout(() => {
        if (!stopped && p === current) start();
      }, 1000);
    });
  };
  start();
  return {
    get pid() {
      return current.pid;
    },
    restart: async (signal) => {
      endedOnPurpose.add(current);
      await current.kill(signal);
      start();
    },
    stop: async () => {
      stopped = true;
      await current.stop();
    },
  };
}

/** Polls `url` until it answers 2xx; gives up after a minute (a process that failed to start). */
export async function waitUntilAnswering(url: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (tries > 300) throw new Error(`${url} did not answer within a minute`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resident memory of a process in MiB, from /proc. */
export async function residentMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return kb / 1024;
}
