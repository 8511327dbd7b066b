/**
 * How the invoice workflow calls its activities. Each call retries a few times within seconds;
 * what is still failing after that is either deterministic (bad data or configuration, thrown as a
 * non-retryable ApplicationFailure: the invoice goes to exceptions review with the reason) or
 * transient (database, SMTP: the caller waits and tries again later, with `BlockedOn` telling
 * operators what it waits for). No handler ever waits on an activity that retries for ever.
 *
 * Since the `local-activities` patch the same calls run as local activities: in the worker that
 * holds the workflow task, without a round trip through the server per call, and billed by
 * Temporal Cloud as one action for all of a workflow task's calls instead of one each. They are
 * all short database work and idempotent (a local activity runs again when its workflow task is
 * lost with a worker), which is what local activities are for.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, proxyLocalActivities, TimeoutFailure } from '@temporalio/workflow';
import type { Activities } from '../activities';

const options = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '3 seconds', maximumAttempts: 5 },
} as const;

/** Runs started before the `local-activities` patch: each call an activity task of its own. */
export const activities = proxyActivities<Activities>(options);

/** The same calls as local activities; their retries (3 s of back-off in all) stay in the worker. */
export const localActivities = proxyLocalActivities<Activities>({ ...options, localRetryThreshold: '10 seconds' });

export type InvoiceActivities = typeof activities;

export type CallOutcome<T> = { ok: true; value: T } | { ok: false; deterministic: boolean; reason: string; type?: string };

/**
 * One bounded attempt at an activity call, with the failure classified. An activity task's failure
 * arrives as an ActivityFailure around its cause; a local activity's as the cause itself.
 */
export async function attempt<T>(call: () => Promise<T>): Promise<CallOutcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (!(err instanceof ActivityFailure) && !(cause instanceof ApplicationFailure) && !(cause instanceof TimeoutFailure)) throw err;
    const deterministic = cause instanceof ApplicationFailure && cause.nonRetryable === true;
    const type = cause instanceof ApplicationFailure && cause.type ? { type: cause.type } : {};
    const message = cause instanceof Error ? cause.message : (err as Error).message;
    return { ok: false, deterministic, reason: message, ...type };
  }
}
