/**
 * Settling: the work the process asks for after a change and before its state is written — the
 * automatic review that is due, giving a rejected or cancelled invoice's obligation back, and
 * resolving the assignees of tasks that open. The workflow settles through its activities; intake
 * settles a new invoice's first step the same way, in process (lib/first-step.ts), so both
 * take the same steps in the same order.
 */
import type { Activities } from '../activities';
import type { CallOutcome } from './calls';
import type { InvoiceProcess } from './process';

type Call<K extends keyof Activities> = (input: Parameters<Activities[K]>[0]) => Promise<CallOutcome<Awaited<ReturnType<Activities[K]>>>>;

/** One bounded attempt at each activity settling needs. */
export interface SettleCalls {
  reviewInvoice: Call<'reviewInvoice'>;
  releaseObligation: Call<'releaseObligation'>;
  resolveAssignment: Call<'resolveAssignment'>;
}

/** The activity functions settling calls: the workflow's proxies, or the functions themselves (intake). */
type SettleActivities = { [K in keyof SettleCalls]: (input: Parameters<Activities[K]>[0]) => Promise<Awaited<ReturnType<Activities[K]>>> };

/** Settling's calls: one attempt at each activity, its failure classified by `attempt`. */
export function settleCalls(activities: SettleActivities, attempt: <T>(call: () => Promise<T>) => Promise<CallOutcome<T>>): SettleCalls {
  return {
    reviewInvoice: (input) => attempt(() => activities.reviewInvoice(input)),
    releaseObligation: (input) => attempt(() => activities.releaseObligation(input)),
    resolveAssignment: (input) => attempt(() => activities.resolveAssignment(input)),
  };
}

/** The activities settling waits on when one fails for now (`BlockedOn` in the Web UI). */
export const SETTLE_ACTIVITIES: readonly string[] = ['resolveAssignment', 'reviewInvoice', 'releaseObligation'];

/**
 * Does the work the process waits for; answers the activity that failed for now (the caller
 * tries again later), or undefined once nothing is left. A deterministic failure is the process's
 * to handle (exceptions review with the reason), never a wait.
 */
export async function settle(
  p: InvoiceProcess,
  ids: { invoiceId: string; companyId: string },
  calls: SettleCalls,
): Promise<string | undefined> {
  const due = p.reviewDue;
  if (due) {
    const review = await calls.reviewInvoice({ invoiceId: ids.invoiceId, ...due });
    if (review.ok) p.reviewed(review.value);
    else if (review.deterministic) p.reviewFailed(review.reason);
    else return 'reviewInvoice';
  }
  if (p.obligationHeld && (p.stage === 'rejected' || p.stage === 'cancelled')) {
    // A rejected or cancelled invoice gives its share of the obligation back.
    const released = await calls.releaseObligation({ invoiceId: ids.invoiceId });
    if (!released.ok && !released.deterministic) return 'releaseObligation';
    p.obligationReleased();
  }
  for (let pending = p.pendingAssignment(); pending; pending = p.pendingAssignment()) {
    const request = pending.request;
    const resolved = await calls.resolveAssignment({ companyId: ids.companyId, request });
    if (resolved.ok) p.assigned(pending, resolved.value);
    else if (resolved.deterministic) {
      p.assigned(pending, {
        ok: false,
        reason: `Assignees could not be resolved: ${resolved.reason}`,
        requiredApprovals: p.raw.requiredApprovals,
      });
    } else return 'resolveAssignment';
  }
  return undefined;
}
