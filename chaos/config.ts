/** What a chaos run does: the paths of the load, the kinds of faults, and the two variants. */

export const PATHS = ['touchless', 'human', 'batch', 'reminder'] as const;
export type PathKind = (typeof PATHS)[number];

export const FAULT_KINDS = ['worker', 'temporal', 'postgres', 'smtp'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultConfig {
  /** How many of each kind. */
  count: Record<FaultKind, number>;
  /** How long PostgreSQL and SMTP stay down. */
  downMs: { postgres: number; smtp: number };
  /** The pause before each fault on a timeline, drawn between these. */
  gapMs: [number, number];
}

export interface LoadMix {
  /** Arrivals per second of each path; `batch` counts groups of `batchSize` invoices. */
  perSecond: Record<PathKind, number>;
  batchSize: number;
  /** Scenarios in flight at most; arrivals beyond are dropped (and counted). */
  maxInFlight: number;
}

export interface ChaosConfig {
  name: string;
  faults: FaultConfig;
  mix: LoadMix;
  /** The load goes on this long after the last fault. */
  tailMs: number;
  /** After its last arrival, the load waits this long at most for the scenarios under way. */
  drainMs: number;
  /** How long after the load everything may take to be in place. */
  settleMs: number;
  /** The reminder-path flow's review step. */
  reminderAfter: string;
  escalateAfter: string;
  /** How long the client retries one request before it gives up. */
  requestDeadlineMs: number;
  /** How long the client waits for one answer. */
  requestTimeoutMs: number;
}

/** `npm run chaos`: each fault twice, Postgres down 20 s, SMTP down 60 s. */
export const FULL: ChaosConfig = {
  name: 'full',
  faults: {
    count: { worker: 2, temporal: 2, postgres: 2, smtp: 2 },
    downMs: { postgres: 20_000, smtp: 60_000 },
    gapMs: [8_000, 20_000],
  },
  mix: { perSecond: { touchless: 1, human: 0.5, batch: 0.1, reminder: 0.3 }, batchSize: 5, maxInFlight: 60 },
  tailMs: 20_000,
  drainMs: 180_000,
  settleMs: 240_000,
  reminderAfter: '3s',
  escalateAfter: '6s',
  requestDeadlineMs: 120_000,
  requestTimeoutMs: 30_000,
};

/**
 * The variant in `npm test`: each fault once, short outages and pauses, a lighter load; about a
 * minute on two cores. The requests' timeout is short so a client waiting on a worker that is being
 * restarted asks again soon (with the same Idempotency-Key) instead of holding the drain up.
 */
export const CI: ChaosConfig = {
  name: 'ci',
  faults: {
    count: { worker: 1, temporal: 1, postgres: 1, smtp: 1 },
    downMs: { postgres: 3_000, smtp: 5_000 },
    gapMs: [1_000, 2_500],
  },
  mix: { perSecond: { touchless: 0.8, human: 0.4, batch: 0.1, reminder: 0.6 }, batchSize: 4, maxInFlight: 40 },
  tailMs: 2_000,
  drainMs: 150_000,
  settleMs: 60_000,
  reminderAfter: '1s',
  escalateAfter: '2s',
  requestDeadlineMs: 120_000,
  requestTimeoutMs: 10_000,
};
