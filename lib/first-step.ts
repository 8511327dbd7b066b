/**
 * A new invoice's first step, taken by whoever starts its workflow instead of by the workflow's
 * first task: coding, agreement, start rules and route (`prepareRouting`), the review due at
 * intake and the first task's assignees (workflows/settle.ts, as the workflow settles), and the
 * projection of that state (`recordState`): the same activities and process code as the
 * workflow, called in process. The workflow then starts from that state (`resume.firstStep`) with
 * search attributes that already show it, so an invoice waiting for its first person has cost one
 * action (its start), and it is in its clerk's work queue when intake answers.
 *
 * The step is kept on the invoice (`invoices.prepared`) before it is projected, so a start that
 * fails (Temporal away) is retried by the worker's starter from the same state and projection,
 * never from a second preparation. When a step fails for now, nothing is kept and the workflow
 * takes the first step itself, with its retries.
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, isNull } from 'drizzle-orm';
import { createActivities, type Activities, type ActivityDeps } from '../activities';
import { recordStateActivity } from '../activities/record-state';
import type { Db } from '../db/client';
import { invoices } from '../db/schema';
import type { CallOutcome } from '../workflows/calls';
import type { InvoiceState } from '../workflows/definitions';
import { blockedOnPeople, InvoiceProcess } from '../workflows/process';
import { settle, settleCalls } from '../workflows/settle';

/** The activities the first step calls (recordState needs only the database). */
export type FirstStepActivities = Pick<Activities, 'prepareRouting' | 'reviewInvoice' | 'releaseObligation' | 'resolveAssignment'>;

/** The first step's activities, as the worker builds them (start rules mail with its sender and reply addressing). */
export function firstStepActivities(deps: ActivityDeps): FirstStepActivities {
  const { prepareRouting, reviewInvoice, releaseObligation, resolveAssignment } = createActivities(deps);
  return { prepareRouting, reviewInvoice, releaseObligation, resolveAssignment };
}

/** The first step as kept on the invoice. */
export interface FirstStep {
  /** The process after its first snapshot, its written history left out (as continue-as-new hands it over). */
  process: unknown;
  /** The snapshot projected to Postgres, mails included. */
  state: InvoiceState;
}

const clock = { now: () => new Date() };

/** One attempt at an activity function, its failure classified as the workflow classifies it. */
async function attemptNow<T>(call: () => Promise<T>): Promise<CallOutcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    const failure = err instanceof ApplicationFailure ? err : undefined;
    return {
      ok: false,
      deterministic: failure?.nonRetryable === true,
      reason: err instanceof Error ? err.message : String(err),
      ...(failure?.type ? { type: failure.type } : {}),
    };
  }
}

/**
 * Takes the first step and keeps it on the invoice (or finds the one kept already); undefined
 * when a step failed for now, or the invoice's workflow has started meanwhile.
 */
export async function takeFirstStep(
  db: Db,
  activities: FirstStepActivities,
  invoice: { id: string; companyId: string; workflowId: string },
): Promise<FirstStep | undefined> {
  const prepared = await attemptNow(() => activities.prepareRouting({ invoiceId: invoice.id }));
  if (!prepared.ok) return undefined;
  const p = InvoiceProcess.start(invoice.id, invoice.workflowId, prepared.value, clock, { reviews: true });
  const blocked = await settle(p, { invoiceId: invoice.id, companyId: invoice.companyId }, settleCalls(activities, attemptNow));
  if (blocked) return undefined;
  const state: InvoiceState = { ...p.snapshot(), mails: p.takeOutbox() ?? [] };
  p.trim();
  const step: FirstStep = { process: p.toJSON(), state };
  // Kept before it is projected; a concurrent starter's step, kept first, wins.
  const kept = await db
    .update(invoices)
    .set({ prepared: step })
    .where(and(eq(invoices.id, invoice.id), isNull(invoices.prepared), isNull(invoices.workflowStartedAt)))
    .returning({ id: invoices.id });
  if (kept.length > 0) return step;
  const [row] = await db
    .select({ prepared: invoices.prepared, started: invoices.workflowStartedAt })
    .from(invoices)
    .where(eq(invoices.id, invoice.id));
  return row?.prepared && !row.started ? (row.prepared as FirstStep) : undefined;
}

/** Projects a kept first step (again: the projection is idempotent); false when that failed for now. */
export async function projectFirstStep(db: Db, companyId: string, step: FirstStep): Promise<boolean> {
  const { recordState } = recordStateActivity({ db, clock: clock.now });
  const written = await attemptNow(() => recordState({ companyId, state: step.state, firstHistoryIndex: 0 }));
  return written.ok;
}

/** What the Web UI should show of a kept first step: stage, who it waits on, and `nobody` if nobody. */
export function firstStepShown(step: FirstStep): { stage: InvoiceState['stage']; assignees: string[]; blockedOn: string } {
  const p = InvoiceProcess.restore(step.process, clock);
  return { stage: p.stage, assignees: p.waitingOn, blockedOn: blockedOnPeople(p) };
}
