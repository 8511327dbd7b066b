/**
 * How the invoice workflow calls its activities. Each call retries a few times within seconds;
 * what is still failing after that is either deterministic (bad data or configuration, thrown as a
 * non-retryable ApplicationFailure: the invoice goes to exceptions review with the reason) or
 * transient (database, SMTP: the caller waits and tries again later, with `BlockedOn` telling
 * operators what it waits for). No handler ever waits on an activity that retries for ever.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const activities = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '3 seconds', maximumAttempts: 5 },
});

export type CallOutcome<T> = { ok: true; value: T } | { ok: false; deterministic: boolean; reason: string; type?: string };

/** One bounded attempt at an activity call, with the failure classified. */
export async function attempt<T>(call: () => Promise<T>): Promise<CallOutcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause;
    const deterministic = cause instanceof ApplicationFailure && cause.nonRetryable === true;
    const type = cause instanceof ApplicationFailure && cause.type ? { type: cause.type } : {};
    return { ok: false, deterministic, reason: cause?.message ?? err.message, ...type };
  }
}
