/**
 * Faults at seeded random moments: the worker killed with SIGKILL (a new one started at once),
 * the Temporal dev server restarted (same SQLite file and port), PostgreSQL stopped (fast
 * shutdown) and started again on the same data directory and port, the SMTP server stopped and
 * started again on the same port. Worker, Temporal and Postgres faults take turns on one timeline
 * so each recovery can be timed on its own; SMTP outages run on a second timeline beside them.
 */
import { readFile } from 'node:fs/promises';
import { sleep } from './client';
import type { FaultConfig, FaultKind } from './config';
import type { Random } from './random';
import type { ChaosRig } from './rig';

export const FAULT_LABEL: Record<FaultKind, string> = {
  worker: 'worker SIGKILL (new worker started)',
  temporal: 'Temporal dev server restart (same SQLite file, same port)',
  postgres: 'PostgreSQL stopped (fast shutdown), started again',
  smtp: 'SMTP server stopped, started again',
};

export interface PlannedFault {
  kind: FaultKind;
  /** 1-based among faults of its kind. */
  n: number;
  gapBeforeMs: number;
  downMs: number;
}

export interface FaultRecord extends PlannedFault {
  /** Run clock (ms): when the fault began and when the dependency was back (for a worker: the new one started). */
  start: number;
  end: number;
  error?: string;
}

/** The two timelines, in seeded random order with seeded random pauses. */
export function planFaults(config: FaultConfig, random: Random): { main: PlannedFault[]; smtp: PlannedFault[] } {
  const gap = () => Math.round(random.between(config.gapMs[0], config.gapMs[1]));
  const times = (kind: FaultKind) => Array.from({ length: config.count[kind] }, (_, i) => i + 1);
  const main = random
    .shuffle((['worker', 'temporal', 'postgres'] as const).flatMap((kind) => times(kind).map((n) => ({ kind, n }))))
    .map(({ kind, n }) => ({ kind, n, gapBeforeMs: gap(), downMs: kind === 'postgres' ? config.downMs.postgres : 0 }));
  const smtp = times('smtp').map((n) => ({ kind: 'smtp' as const, n, gapBeforeMs: gap(), downMs: config.downMs.smtp }));
  return { main, smtp };
}

export interface FaultContext {
  chaos: ChaosRig;
  clock: () => number;
  log: (m: string) => void;
  /** Called about once a second while the fault lasts (a client looking at the API meanwhile). */
  probe?: (fault: FaultRecord) => Promise<void>;
  /** No more faults once this is true. */
  stopped?: () => boolean;
}

/** Injects one fault and waits until the dependency is back. */
export async function inject({ chaos, clock, log, probe }: FaultContext, fault: PlannedFault): Promise<FaultRecord> {
  const start = clock();
  const record: FaultRecord = { ...fault, start, end: start };
  log(`fault ${fault.kind} #${fault.n} at ${(start / 1000).toFixed(1)} s`);
  let active = true;
  // Probes are not awaited: one that hangs (an Update waiting for a dead worker) must not hold the timeline up.
  const probing = (async () => {
    while (probe && active) {
      void probe(record).catch(() => {});
      await sleep(1000);
    }
  })();
  try {
    switch (fault.kind) {
      case 'worker': {
        const before = await workerStarts(chaos.workerLog);
        await chaos.rig.restartWorker('SIGKILL');
        // The timeline goes on once the new worker polls (it may bundle the workflows first), so the
        // next fault does not land in this one's recovery; "down" still ends at the process start.
        record.end = clock();
        const deadline = clock() + 120_000;
        while ((await workerStarts(chaos.workerLog)) <= before && clock() < deadline) await sleep(250);
        break;
      }
      case 'temporal':
        await retry(() => chaos.rig.restartTemporal());
        break;
      case 'postgres':
        await chaos.postgres.halt();
        await sleep(fault.downMs);
        await retry(() => chaos.postgres.start());
        break;
      case 'smtp':
        await chaos.smtp.stop();
        await sleep(fault.downMs);
        await retry(() => chaos.smtp.start());
        break;
    }
  } catch (err) {
    record.error = (err as Error).message;
  }
  if (fault.kind !== 'worker') record.end = clock();
  active = false;
  await probing;
  log(`fault ${fault.kind} #${fault.n} over after ${((record.end - start) / 1000).toFixed(1)} s${record.error ? `: ${record.error}` : ''}`);
  return record;
}

/** How many worker processes have logged that they poll. */
async function workerStarts(logFile: string): Promise<number> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.match(/"msg":"worker started"/g)?.length ?? 0;
}

/** A restart whose port is still held for a moment is tried again. */
async function retry(f: () => Promise<void>, times = 5): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (err) {
      if (i >= times) throw err;
      await sleep(1000 * i);
    }
  }
}

/** Runs a timeline: pause, fault, pause, fault, ... */
export async function runTimeline(context: FaultContext, faults: PlannedFault[], into: FaultRecord[]): Promise<void> {
  for (const fault of faults) {
    await sleep(fault.gapBeforeMs);
    if (context.stopped?.()) return;
    into.push(await inject(context, fault));
  }
}

/** Brings every dependency back, whatever happened (called before checks and on failure). */
export async function restoreAll(chaos: ChaosRig): Promise<void> {
  await chaos.smtp.start().catch(() => {});
  await chaos.postgres.start().catch(() => {});
}
