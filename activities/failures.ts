/**
 * Which failures of an activity are worth retrying. A retry helps when the database or the mail
 * server is away; it never helps with bad input, bad data or bad configuration, so those become a
 * non-retryable ApplicationFailure with a readable message, and the workflow routes the invoice
 * to exceptions review instead of waiting for ever.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { MoneyError } from '../domain/money';
import { UnbalancedJournalError } from '../domain/journal';

/** SQLSTATE classes that no retry can fix: data exceptions (22) and integrity violations (23). */
const DETERMINISTIC_SQLSTATE = /^(22|23)/;

/** The Postgres error code of a driver error, also through drizzle's `DrizzleQueryError` wrapper. */
export function sqlState(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** The failure for an invoice that is not there: no retry brings it. */
export function invoiceNotFound(invoiceId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`invoice ${invoiceId} does not exist`, 'InvoiceNotFound');
}

/** The error as the workflow should see it: non-retryable when no retry can help. */
export function classify(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof z.ZodError) return ApplicationFailure.nonRetryable(`invalid input: ${z.prettifyError(err)}`, 'InvalidInput');
  if (err instanceof MoneyError) return ApplicationFailure.nonRetryable(err.message, 'InvalidAmount');
  if (err instanceof UnbalancedJournalError) return ApplicationFailure.nonRetryable(err.message, 'UnbalancedJournal');
  const state = sqlState(err);
  if (state && DETERMINISTIC_SQLSTATE.test(state)) {
    const message = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    return ApplicationFailure.nonRetryable(`the database refused the data (${state}): ${message}`, 'DataRefused');
  }
  return err;
}

/**
 * An activity whose input is validated with `schema` (a malformed input is non-retryable) and
 * whose errors are classified by {@link classify}.
 */
export function activity<S extends z.ZodType, R>(schema: S, fn: (input: z.infer<S>) => Promise<R>): (input: z.input<S>) => Promise<R> {
  return async (input) => {
    try {
      return await fn(schema.parse(input));
    } catch (err) {
      throw classify(err);
    }
  };
}
