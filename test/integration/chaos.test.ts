/**
 * The fault-injection suite's CI variant (issue 13; `npm run chaos` is the full one): a mixed
 * load while the worker is killed, the Temporal dev server restarted, PostgreSQL and SMTP stopped
 * and started again. It runs `chaos/run.ts --ci` as a process of its own, with its own Temporal
 * dev server, embedded PostgreSQL, SMTP server, worker and API on free ports: the servers of the
 * global setup are not touched. Product bugs the suite found are reproduced apart, deterministically,
 * on the tests' own stack with injected failures.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { CI, FAULT_KINDS } from '../../chaos/config';
import { newSeed } from '../../chaos/random';
import { serverErrors, unexplainedDeaths } from '../../chaos/report';
import type { ChaosResult } from '../../chaos/suite';
import { randomUUID } from 'node:crypto';
import { auditEvents, invoices } from '../../db/schema';
import { invoiceWorkflowId } from '../../workflows/definitions';
import { invoiceBody, startStack, waitFor, waitForStage, type Stack } from '../harness';
import { recordHistory } from '../histories';

/** The chaos process is ended after this; the jest hook waits a little longer for its cleanup. */
const RUN_LIMIT_MS = 450_000;

/** Runs the CI variant in its own process; resolves with its result (written as JSON). */
async function runChaosProcess(seed: number): Promise<ChaosResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'invoiceflow-chaos-result-'));
  const file = path.join(dir, 'result.json');
  const root = path.resolve(__dirname, '../..');
  // The global setup's workflow bundle: a restarted worker polls within seconds instead of bundling first.
  const bundle = process.env.TEST_WORKFLOW_BUNDLE ? ['--bundle', process.env.TEST_WORKFLOW_BUNDLE] : [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/run.ts', '--ci', '--seed', String(seed), '--json', file, ...bundle], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
    if (process.env.TEST_VERBOSE) process.stderr.write(chunk);
  });
  child.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
  // Bounded even on a crowded machine: its drain and settle limits end a run within about five minutes.
  const timer = setTimeout(() => child.kill('SIGTERM'), RUN_LIMIT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ChaosResult;
  } catch {
    throw new Error(`chaos/run.ts --ci --seed ${seed} exited ${code} without a result; its last output:\n${stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The chaos run is a process of its own: it starts first and runs while the deterministic
// reproductions below use the global setup's servers; its assertions come last.
let chaosRun: Promise<ChaosResult>;
beforeAll(() => {
  chaosRun = runChaosProcess(process.env.CHAOS_SEED ? Number.parseInt(process.env.CHAOS_SEED, 10) : newSeed());
  // Awaited (and its failure reported) in the last describe.
  chaosRun.catch(() => {});
});

describe('found by the chaos suite, reproduced deterministically', () => {
  let stack: Stack;
  /** Projections to fail, by invoice id: the stage whose recordState fails, and how many more attempts fail. */
  const projectionOutage = new Map<string, { stage: string; attempts: number }>();
  /** Lookups of the flow that fail next (one lookup is five attempts). */
  let routeOutage = 0;
  const down = () => new Error('connect ECONNREFUSED (injected: the database is down)');
  beforeAll(async () => {
    stack = await startStack({
      wrapActivities: (real) => ({
        ...real,
        async loadRoute(input) {
          if (routeOutage > 0) {
            routeOutage -= 1;
            throw down();
          }
          return real.loadRoute(input);
        },
        async recordState(input) {
          const outage = projectionOutage.get(input.state.invoiceId);
          if (outage && outage.stage === input.state.stage && outage.attempts > 0) {
            outage.attempts -= 1;
            throw down();
          }
          return real.recordState(input);
        },
      }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** An invoice approved by alice and bob, waiting for the approver. */
  async function inApproval(): Promise<string> {
    const created = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack) });
    const id = created.body.id as string;
    for (const who of ['alice', 'bob']) {
      expect((await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: who, body: {} })).status).toBe(200);
    }
    return id;
  }

  const stageOf = async (id: string, stages: string[]) =>
    (
      await waitFor(
        () => stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' }),
        (r) => stages.includes(r.body.stage),
        30_000,
      )
    ).body.stage as string;

  // Found by this suite: the workflow posted while the projection holding the approval signatures was
  // still unwritten; postInvoice read the rows unsigned and refused for good.
  it('a database outage during the last approval delays the posting instead of sending the invoice to exceptions review', async () => {
    const id = await inApproval();
    // Every attempt to write the approved state fails (Postgres down for those seconds).
    projectionOutage.set(id, { stage: 'payment', attempts: 5 });
    expect((await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'dave', body: {} })).status).toBe(200);
    const stage = await stageOf(id, ['posted', 'exceptions_review']);
    const trail = await stack.database.db.select().from(auditEvents).where(eq(auditEvents.invoiceId, id));
    expect({ stage, refusals: trail.filter((e) => /carry no valid approval signature/.test(e.message)).length }).toEqual({
      stage: 'posted',
      refusals: 0,
    });
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    await handle.result();
    await recordHistory(handle, 'v3-approval-written-before-posting');
  });

  // Found by this suite: when writing the posted state failed for a while, the workflow still
  // completed (its loop returned once posted, dirty projection or not): Postgres showed the invoice
  // in payment for good, with BlockedOn recordState in the Web UI, although its journal was written.
  it('a database outage right after posting still ends with the invoice shown as posted', async () => {
    const id = await inApproval();
    projectionOutage.set(id, { stage: 'posted', attempts: 5 });
    expect((await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'dave', body: {} })).status).toBe(200);
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    await handle.result();
    const [row] = await stack.database.db.select().from(invoices).where(eq(invoices.id, id));
    expect(row!.stage).toBe('posted');
    await recordHistory(handle, 'v3-posted-state-written-again');
  });

  // Found by this suite: a lookup that fails for now is refused inside the Update ("not ready":
  // 503, Retry-After: 5); with an Idempotency-Key the update id is the same on retry, so Temporal
  // answered the stored refusal again: the same 503 for good, whatever the database did.
  it('a 503 "not ready" retried with the same Idempotency-Key succeeds once the database is back', async () => {
    const created = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack) });
    const id = created.body.id as string;
    await waitForStage(stack, id, 'new');
    // Registering looks the flow up as it stands now: that lookup fails for every attempt.
    const register = () =>
      stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'alice', body: {}, headers: { 'idempotency-key': `retry-${id}` } });
    routeOutage = 5;
    const first = await register();
    routeOutage = 0;
    expect({ status: first.status, retryAfter: first.headers.get('retry-after') }).toEqual({ status: 503, retryAfter: '5' });
    // A client waits before it tries again (a second here; Retry-After says 5).
    await new Promise((r) => setTimeout(r, 1000));
    expect((await register()).status).toBe(200);
    // And the key keeps that outcome: the same request again changes nothing and answers as before.
    expect((await register()).status).toBe(200);
    expect((await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' })).body.stage).toBe('review');
  });

  // Found by this suite: an invoice committed while Temporal was away has no workflow until the
  // worker's starter starts it (seconds later); an action meanwhile answered 409 "finished" ("The
  // invoice is new; its workflow takes no more actions"), which tells a client to stop trying.
  it('an action on an invoice whose workflow is not started yet answers 503 with Retry-After', async () => {
    // As intake leaves it when Temporal is away: committed, workflow not started (the starter waits a second).
    const id = randomUUID();
    await stack.database.db.insert(invoices).values({
      id,
      companyId: stack.company.companyId,
      vendorId: stack.company.vendorId,
      documentType: 'invoice',
      invoiceNumber: `NOT-STARTED-${id.slice(0, 8)}`,
      invoiceDate: '2026-11-01',
      dueDate: '2026-12-01',
      currency: 'EUR',
      net: '100.00',
      tax: '25.00',
      gross: '125.00',
      workflowId: invoiceWorkflowId(id),
      createdBy: stack.company.users.alice!,
    });
    const res = await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'alice', body: {} });
    expect({ status: res.status, retryAfter: res.headers.get('retry-after') !== null }).toEqual({ status: 503, retryAfter: true });
  });
});

describe('under worker kills, Temporal restarts, Postgres and SMTP outages (seeded; CHAOS_SEED repeats a run)', () => {
  let result: ChaosResult;
  beforeAll(async () => {
    result = await chaosRun;
  }, RUN_LIMIT_MS + 30_000);

  it('loses no invoice or mail, posts each invoice once with a balanced journal, keeps agreement totals exact, and no workflow fails', () => {
    const v = result.verdict;
    for (const kind of FAULT_KINDS) {
      const injected = result.observations.faults.filter((f) => f.kind === kind);
      expect({ kind, injected: injected.length, errors: injected.filter((f) => f.error).map((f) => f.error) }).toEqual({
        kind,
        injected: CI.faults.count[kind],
        errors: [],
      });
    }
    expect(v.lost).toEqual([]);
    // Stragglers explained by a reported product bug are asserted below, apart.
    expect(v.stuck.filter((s) => !s.knownBug)).toEqual([]);
    expect(v.clientErrors).toEqual([]);
    expect(v.doubleIntake).toEqual([]);
    expect(v.doublePosted).toEqual([]);
    expect(v.postedWithoutJournal).toEqual([]);
    expect(v.unbalanced).toEqual([]);
    expect(v.journals).toBeGreaterThan(0);
    expect(v.agreements.filter((a) => !a.exact)).toEqual([]);
    expect(v.matchesOff).toEqual([]);
    expect(v.mails.lost.map((m) => m.key)).toEqual([]);
    expect(v.mails.missingRows).toEqual([]);
    expect(v.mails.rows).toBeGreaterThan(0);
    expect(v.badWorkflows).toEqual([]);
    // The worker crashing on a Postgres shutdown (postgres.js 3.4.9, porsager/postgres#1154) is a known,
    // timing-dependent bug: the table reports it, and the restart policy brings the worker back.
    expect(unexplainedDeaths(result.observations)).toEqual([]);
  });

  // Found by this suite: while PostgreSQL was down every route answered 500 (the bearer-token lookup's
  // DrizzleQueryError was not mapped). The error middleware now answers 503 with Retry-After.
  it('the API never answers 5xx but 503 with Retry-After while a dependency is down', () => {
    const bad = serverErrors(result.observations.calls).filter((c) => c.status !== 503 || c.retryAfter === undefined);
    expect(bad.map((c) => `${c.route} ${c.status}`)).toEqual([]);
  });
});
