/**
 * One chaos run: the stack (chaos/rig.ts), the mixed load (load.ts), faults on their timelines
 * (faults.ts), the settle and the checks (checks.ts), the markdown (report.ts). `npm run chaos`
 * runs FULL, the jest test CI (config.ts).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { ApiClient, sleep } from './client';
import { KNOWN_BUGS, settle, verify, type Verdict } from './checks';
import type { ChaosConfig } from './config';
import { planFaults, restoreAll, runTimeline, type FaultRecord } from './faults';
import { Load, prepareLoad } from './load';
import { seededRandom } from './random';
import { KNOWN_DEATHS, markdown, serverErrors, unexplainedDeaths, type Observations } from './report';
import { startChaosRig } from './rig';

export interface ChaosResult {
  seed: number;
  config: ChaosConfig;
  verdict: Verdict;
  observations: Observations;
  /** The markdown table. */
  table: string;
  /** Seconds: the whole run, and the phases. */
  seconds: { total: number; startup: number; load: number; settle: number; checks: number };
  workDir: string;
}

/** The invoice workflows' progress as Postgres sees it: the sum of every invoice's projected state sequence. */
async function progressValue(rig: Awaited<ReturnType<typeof startChaosRig>>['rig']): Promise<number> {
  const [row] = (await rig.database.db.execute(
    sql`select coalesce(sum(workflow_seq), 0)::bigint::text as seq from invoices where company_id = ${rig.companyId}`,
  )) as unknown as { seq: string }[];
  return Number.parseInt(row!.seq, 10);
}

/**
 * Why a worker or API process died on its own: what main() writes before exit(1), or Node's
 * report of an uncaught exception (the error line and the top stack frame).
 */
async function processDeaths(logFiles: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (const [name, file] of Object.entries(logFiles)) {
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n');
    lines.forEach((l, i) => {
      if (/^(worker|api) failed: /.test(l)) out.push(`${name}: ${l.slice(0, 240)}`);
      else if (/^\w*Error: /.test(l) && !lines[i - 1]?.startsWith('{')) {
        const frame = lines.slice(i + 1, i + 4).find((f) => f.trim().startsWith('at '));
        out.push(`${name}: uncaught ${l.slice(0, 160)}${frame ? ` ${frame.trim().replace(/\/.*node_modules\//, 'node_modules/')}` : ''}`);
      }
    });
  }
  return out;
}

/** The worker's warnings and errors, counted by message and error (first line), most frequent first. */
async function workerLogSummary(logFile: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const text = await readFile(logFile, 'utf8').catch(() => '');
  for (const raw of text.split('\n')) {
    // The SDK's core writes its own warnings as text: "<time> WARN <target>: <message>".
    // eslint-disable-next-line no-control-regex -- colour codes
    const core = / (WARN|ERROR) (temporalio_[\w:]+): (.*)$/.exec(raw.replace(/\x1b\[[0-9;]*m/g, ''));
    if (core) {
      const message = core[3]!
        .replace(/ (workflow_type|task_token|error|run_id|workflow_id)=.*/, '')
        .replace(/[0-9a-f]{8}-[0-9a-f-]{27}(:\d+)*/g, '<id>')
        .slice(0, 120);
      const key = `${core[1]!.toLowerCase()}: ${core[2]}: ${message.trim()}`;
      counts[key] = (counts[key] ?? 0) + 1;
      continue;
    }
    if (!raw.startsWith('{')) continue;
    try {
      const e = JSON.parse(raw) as {
        level: number;
        msg: string;
        err?: { message?: string };
        error?: { message?: string };
        failure?: string;
      };
      if (e.level < 40) continue;
      const why = (e.err?.message ?? e.error?.message ?? e.failure ?? '')
        .split('\n')[0]!
        .replace(/params: .*/, '')
        .slice(0, 160);
      const key = `${e.level >= 50 ? 'error' : 'warn'}: ${e.msg.split('\n')[0]!.slice(0, 160)}${why ? ` (${why})` : ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // not a JSON log line
    }
  }
  return counts;
}

/** When each worker process logged "worker started" (run clock, ms): the moment it polls again. */
async function workerStarts(logFile: string, epochAtLoadStart: number): Promise<number[]> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return [...text.matchAll(/^\{.*"msg":"worker started".*$/gm)].map((m) => (JSON.parse(m[0]) as { time: number }).time - epochAtLoadStart);
}

/** The API's "unhandled error" log lines (500s), counted by route and the first line of the error. */
async function apiErrors(logFile: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const text = await readFile(logFile, 'utf8').catch(() => '');
  for (const raw of text.split('\n')) {
    if (!raw.includes('"unhandled error"') && !raw.includes('"batch action failed"')) continue;
    try {
      const entry = JSON.parse(raw) as {
        msg: string;
        method?: string;
        path?: string;
        err?: { message?: string; type?: string; cause?: { message?: string; code?: string } };
      };
      const where =
        entry.msg === 'batch action failed'
          ? 'batch item (answered 200, ok: false)'
          : `${entry.method} ${entry.path?.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, ':id')}`;
      const cause = entry.err?.cause?.code ?? entry.err?.cause?.message;
      const message = `${entry.err?.type ?? 'Error'}: ${(entry.err?.message ?? '')
        .split('\n')[0]!
        .replace(/params: .*/, '')
        .slice(0, 140)}${cause ? ` (cause: ${cause})` : ''}`;
      const key = `${where}: ${message}`;
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // not a JSON log line
    }
  }
  return counts;
}

export async function runChaos(
  config: ChaosConfig,
  seed: number,
  log: (m: string) => void,
  opts: { keep?: boolean; workflowBundle?: string | undefined } = {},
): Promise<ChaosResult> {
  const started = performance.now();
  // Other work on the machine slows every recovery down: the table says how busy it was.
  const loadAverages = [os.loadavg()[0]!];
  const random = seededRandom(seed);
  log(`chaos ${config.name}, seed ${seed}`);
  const chaos = await startChaosRig({ company: 'chaos', log, workflowBundle: opts.workflowBundle });
  const { rig } = chaos;
  let loadStart = performance.now();
  const clock = () => performance.now() - loadStart;
  let failed = true;
  try {
    const client = new ApiClient(rig.apiUrl, rig.tokens, clock, {
      deadlineMs: config.requestDeadlineMs,
      timeoutMs: config.requestTimeoutMs,
    });
    const setup = await prepareLoad(rig, client, { reminderAfter: config.reminderAfter, escalateAfter: config.escalateAfter });
    const startup = (performance.now() - started) / 1000;

    const plan = planFaults(config.faults, random);
    log(
      `faults planned: ${[...plan.main, ...plan.smtp].map((f) => `${f.kind}#${f.n} after ${(f.gapBeforeMs / 1000).toFixed(1)} s`).join(', ')}`,
    );
    const load = new Load(client, setup, config.mix, random, clock);
    loadStart = performance.now();
    const epochAtLoadStart = Date.now();

    // Progress as Postgres sees it, four times a second, whatever is down.
    const progressAt: number[] = [];
    let polling = true;
    const poller = (async () => {
      let last = -1;
      while (polling) {
        const value = await progressValue(rig).catch(() => undefined);
        if (value !== undefined) {
          if (last >= 0 && value > last) progressAt.push(clock());
          last = value;
        }
        await sleep(250);
      }
    })();

    // While a fault lasts, a client also reads a list, a work queue, and acts on an invoice that is not its task
    // (a refusal when all is well): every route family meets every fault, whatever the load happens to do then.
    // The action probe keeps one Idempotency-Key per fault, as a client retrying would: one Update, not a pile of them.
    const probe = async (fault: FaultRecord) => {
      const target = load.invoices.find((t) => t.path === 'reminder' && t.id && !t.clientError);
      const key = { 'idempotency-key': `probe-${fault.kind}-${fault.n}` };
      await Promise.all([
        client.once('alice', 'GET', '/invoices?limit=1', undefined, {}, true),
        client.once('bob', 'GET', '/work-queue?limit=1', undefined, {}, true),
        target ? client.once('alice', 'POST', `/invoices/${target.id}/actions/approve`, {}, key, true) : undefined,
      ]);
    };
    const faults: FaultRecord[] = [];
    let faultsOverAt: number | undefined;
    let halted = false;
    const context = { chaos, clock, log, probe, stopped: () => halted };
    const timelines = Promise.all([runTimeline(context, plan.main, faults), runTimeline(context, plan.smtp, faults)]).finally(() => {
      faultsOverAt = clock();
    });
    // A worker that keeps dying (it cannot start) makes the rest of the run pointless: stop the load.
    const crashLoop = () => rig.unexpectedExits.length >= 5;
    const loadDone = load
      .run(() => crashLoop() || (faultsOverAt !== undefined && clock() > faultsOverAt + config.tailMs), config.drainMs)
      .then(() => {
        if (crashLoop()) log(`stopped the load: ${rig.unexpectedExits.length} worker or API exits (see "process died" below)`);
      });
    await loadDone;
    halted = true;
    await timelines;
    const loadMs = clock();
    log(`load over after ${(loadMs / 1000).toFixed(1)} s: ${load.invoices.length} invoices, ${client.calls.length} requests`);

    await restoreAll(chaos);
    const settleStart = performance.now();
    const settledAfterMs = await settle(rig, load.invoices, chaos.smtp.received, config.settleMs, log);
    const settleSeconds = (performance.now() - settleStart) / 1000;
    polling = false;
    await poller;

    const checksStart = performance.now();
    const verdict = await verify(rig, setup, load.invoices, chaos.smtp.received, settledAfterMs);
    const observations: Observations = {
      faults,
      calls: client.calls,
      intakesAt: load.intakesAt,
      progressAt,
      received: chaos.smtp.received,
      unexpectedExits: rig.unexpectedExits,
      apiErrors: await apiErrors(chaos.apiLog),
      processDeaths: await processDeaths({ worker: chaos.workerLog, api: chaos.apiLog }),
      workerLog: await workerLogSummary(chaos.workerLog),
      workerStartsAt: await workerStarts(chaos.workerLog, epochAtLoadStart),
      dropped: load.dropped,
      notStartedAnswers: load.notStartedAnswers,
      sticky503: load.sticky503,
      unfinished: load.unfinished,
      loadMs,
      epochAtLoadStart,
    };
    const checks = (performance.now() - checksStart) / 1000;
    const total = (performance.now() - started) / 1000;
    loadAverages.push(os.loadavg()[0]!);
    const title =
      `Chaos run "${config.name}", seed ${seed}: ${total.toFixed(0)} s (startup ${startup.toFixed(0)} s, load ${(loadMs / 1000).toFixed(0)} s, ` +
      `settle ${settleSeconds.toFixed(0)} s; ${os.cpus().length} cores, load average ${loadAverages.map((l) => l.toFixed(1)).join(' → ')}; ` +
      `${opts.workflowBundle ? 'worker from a prebuilt workflow bundle' : 'each worker bundles the workflows at start'})`;
    const table = markdown(title, observations, verdict);
    failed = !passes(verdict, observations);
    return {
      seed,
      config,
      verdict,
      observations,
      table,
      seconds: { total, startup, load: loadMs / 1000, settle: settleSeconds, checks },
      workDir: chaos.workDir,
    };
  } finally {
    await restoreAll(chaos).catch(() => {});
    // Keep the logs, the SQLite file and the data directory of a failed run for a look.
    const keep = failed || (opts.keep ?? false);
    if (keep) log(`keeping ${chaos.workDir} (logs: api.log, worker.log)`);
    await chaos.stop({ keep });
  }
}

/** The properties that must hold (the product bugs found so far are judged apart: see findings()). */
export function passes(v: Verdict, o: Observations): boolean {
  return findings(v, o).every((f) => f.ok || f.knownBug);
}

export interface Finding {
  property: string;
  ok: boolean;
  /** Fails today because of a product bug this suite reported; the CI test marks it `it.failing`. */
  knownBug?: boolean;
  detail: string;
}

/** Each property of the issue with whether it held. */
export function findings(v: Verdict, o: Observations): Finding[] {
  const fiveXX = serverErrors(o.calls);
  return [
    { property: 'nothing lost', ok: v.lost.length === 0, detail: `${v.lost.length} lost` },
    {
      property: 'every invoice where the load left it',
      ok: v.stuck.every((t) => t.knownBug),
      detail: `${v.stuck.filter((t) => !t.knownBug).length} stuck`,
    },
    ...KNOWN_BUGS.map((b) => ({
      property: `known bug ${b.id}: ${b.title}`,
      ok: !v.stuck.some((t) => t.knownBug === b.id),
      knownBug: true,
      detail: `${v.stuck.filter((t) => t.knownBug === b.id).length} invoices`,
    })),
    { property: 'no client gave up', ok: v.clientErrors.length === 0, detail: `${v.clientErrors.length} gave up` },
    {
      property: 'no double intake or posting',
      ok: v.doubleIntake.length + v.doublePosted.length + v.postedWithoutJournal.length === 0,
      detail: '',
    },
    { property: 'journals balanced', ok: v.unbalanced.length === 0, detail: `${v.unbalanced.length} unbalanced` },
    { property: 'agreement totals exact', ok: v.agreements.every((a) => a.exact) && v.matchesOff.length === 0, detail: '' },
    { property: 'no mail lost', ok: v.mails.lost.length === 0 && v.mails.missingRows.length === 0, detail: `${v.mails.lost.length} lost` },
    { property: 'no failed or terminated workflow', ok: v.badWorkflows.length === 0, detail: `${v.badWorkflows.length}` },
    {
      property: 'no 5xx but 503 with Retry-After',
      ok: fiveXX.every((c) => c.status === 503 && c.retryAfter !== undefined),
      detail: `${fiveXX.length} 5xx, ${fiveXX.filter((c) => c.status !== 503 || c.retryAfter === undefined).length} of them not 503 with Retry-After`,
    },
    {
      property: 'a 503 "not ready" retried with the same Idempotency-Key succeeds once the dependency is back',
      ok: o.sticky503 === 0,
      detail: `${o.sticky503} actions kept answering the same 503`,
    },
    {
      property: 'no worker or API process died on its own (but for the known bugs below)',
      ok: unexplainedDeaths(o).length === 0,
      detail: unexplainedDeaths(o).join('; '),
    },
    ...KNOWN_DEATHS.map((k) => ({
      property: `known bug ${k.id}: ${k.title}`,
      ok: !o.processDeaths.some((d) => k.pattern.test(d)),
      knownBug: true,
      detail: `${o.processDeaths.filter((d) => k.pattern.test(d)).length} deaths`,
    })),
  ];
}
