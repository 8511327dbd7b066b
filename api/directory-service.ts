/**
 * What the directory routes (users, groups, cost centres) share: the lock that serialises
 * directory writes of one company, and re-resolving the open tasks of users whose
 * rights changed, so that no task waits on someone who may no longer take it (SPEC 2.0).
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../db/client';
import { mapConcurrent } from '../lib/concurrency';
import { invoicesWaitingOn } from '../lib/invoice-workflows';
import type { Logger } from '../lib/logger';
import type { CurrentUser } from './auth';
import { ApiError } from './errors';
import { performAction, type ServiceDeps } from './invoices-service';

export type DirectoryDeps = ServiceDeps & { log: Logger };

/** How many refresh Updates run at once: enough to be quick, few enough to spare the Temporal frontend. */
const REFRESH_CONCURRENCY = 8;

/**
 * Serialises the directory writes of one company for the rest of the transaction, so that two
 * admins demoting each other cannot both pass the "last cleared admin" check.
 */
export async function lockDirectory(tx: Tx, companyId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`directory:${companyId}`}, 0))`);
}

/** The part of a directory change's answer that says what happened to open tasks (OpenAPI). */
export const RefreshOutcomeView = {
  refreshedInvoices: z.number().int().describe('Open invoices whose task assignees were resolved again'),
  refreshFailures: z.array(z.object({ invoiceId: z.string(), code: z.string(), message: z.string() })),
};

export interface RefreshOutcome {
  /** Open invoices whose task assignees the workflow resolved again. */
  refreshedInvoices: number;
  /** Invoices whose refresh failed for another reason than being finished meanwhile; logged too. */
  refreshFailures: { invoiceId: string; code: string; message: string }[];
}

/**
 * Sends `refresh` to every open invoice of the admin's company on which one of `userIds` is a
 * pending assignee, so the workflow resolves the task's assignees again from current data. Call it
 * after the directory change committed: the workflow reads the directory when it resolves.
 */
export async function refreshOpenTasksOf(
  deps: DirectoryDeps,
  admin: CurrentUser,
  userIds: readonly string[],
  reason: string,
): Promise<RefreshOutcome> {
  // A partner's invoice is that company's admins' to refresh: the workflow would refuse ours.
  const rows = await invoicesWaitingOn(deps.db, admin.companyId, userIds);
  // The refresh is the system following the admin's change, not the admin reading the invoice:
  // it acts in their name on confidential invoices too, and answers nothing but a count.
  const actor: CurrentUser = { ...admin, confidential: true };
  const outcomes = await mapConcurrent(rows, REFRESH_CONCURRENCY, async ({ invoiceId }) => {
    try {
      await performAction(deps, actor, invoiceId, 'refresh', { reason });
      return 'refreshed' as const;
    } catch (err) {
      // Finished, or its task closed, between the query and the Update: nothing left to refresh.
      if (err instanceof ApiError && (err.code === 'finished' || err.code === 'no_open_task')) return 'gone' as const;
      const failure = {
        invoiceId,
        code: err instanceof ApiError ? err.code : 'internal',
        message: err instanceof Error ? err.message : String(err),
      };
      deps.log.warn({ err, invoiceId }, 'refreshing the assignees of an open task failed');
      return failure;
    }
  });
  return {
    refreshedInvoices: outcomes.filter((o) => o === 'refreshed').length,
    refreshFailures: outcomes.filter((o): o is RefreshOutcome['refreshFailures'][number] => typeof o === 'object'),
  };
}
