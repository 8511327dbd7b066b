/**
 * A new invoice's first step, taken by whoever starts its workflow instead of by the workflow's
 * first task: coding, agreement, start rules and route (`prepareRouting`), the review due at
 * intake and the first task's assignees (workflows/settle.ts, as the workflow settles), and the
 * projection of that state (`recordState`): the same activity code and process code as the
 * workflow, called in process, in one transaction (at intake, a savepoint of intake's own: the
 * invoice commits with its first step, one transaction instead of three). The workflow then starts
 * from that state (`resume.firstStep`) with search attributes that already show it, so an invoice
 * waiting for its first person has cost one action (its start), and it is in its clerk's work
 * queue when intake answers.
 *
 * The step is kept on the invoice (`invoices.prepared`) before it is projected, so a start that
 * fails (Temporal away) is retried by the worker's starter from the same state and projection,
 * never from a second preparation. When a step fails, nothing of it is kept and the workflow
 * takes the first step itself, with its retries.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { DEFAULT_MAIL_FROM, DEVELOPMENT_REPLIES, type ActivityDeps } from '../activities';
import { resolveAssignmentIn } from '../activities/directory';
import { preparationIn } from '../activities/prepare-routing';
import { recordStateActivity } from '../activities/record-state';
import { releaseObligationIn, reviewIn, type ReviewRequest } from '../activities/review';
import type { Db, Tx } from '../db/client';
import { lockInvoice } from '../db/locks';
import { invoices } from '../db/schema';
import type { AssignmentOutcome, AssignmentRequest } from '../domain/routing/assign';
import type { CallOutcome } from '../workflows/calls';
import type { InvoiceState } from '../workflows/definitions';
import { blockedOnPeople, InvoiceProcess, type Preparation } from '../workflows/process';
import type { ReviewFacts } from '../workflows/process/state';
import { settle, settleCalls } from '../workflows/settle';

/**
 * The first step's activities, each in the step's transaction (which holds the invoice's lock):
 * the same code the workflow's activities run in theirs.
 */
export interface FirstStepActivities {
  prepareRouting(tx: Tx, input: { invoiceId: string }): Promise<Preparation>;
  reviewInvoice(tx: Tx, input: ReviewRequest): Promise<ReviewFacts>;
  releaseObligation(tx: Tx, input: { invoiceId: string }): Promise<{ released: boolean }>;
  resolveAssignment(tx: Tx, input: { companyId: string; request: AssignmentRequest }): Promise<AssignmentOutcome>;
}

/** The first step's activities, as the API builds them (start rules mail with its sender and reply addressing). */
export function firstStepActivities({
  clock,
  mailFrom = DEFAULT_MAIL_FROM,
  replyAddressing = DEVELOPMENT_REPLIES,
}: ActivityDeps): FirstStepActivities {
  return {
    prepareRouting: preparationIn({ clock, mailFrom, replyAddressing }),
    reviewInvoice: reviewIn({ clock }),
    releaseObligation: releaseObligationIn,
    resolveAssignment: (tx, input) => resolveAssignmentIn(tx, input, clock),
  };
}

/** The first step as kept on the invoice. */
export interface FirstStep {
  /** The process after its first snapshot, its written history left out (as continue-as-new hands it over). */
  process: unknown;
  /** The snapshot projected to Postgres, mails included. */
  state: InvoiceState;
}

const clock = { now: () => new Date() };

/** Why a step was not kept: its transaction (or savepoint) is rolled back with this. */
class StepNotKept extends Error {
  constructor(readonly kept: FirstStep | undefined) {
    super('first step not kept');
  }
}

/** One attempt at an activity function in the step's transaction; any failure ends the step (rolled back, left to the workflow). */
async function attemptInStep<T>(call: () => Promise<T>): Promise<CallOutcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    return { ok: false, deterministic: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Takes the first step in one transaction and keeps it on the invoice (or finds the one kept
 * already); undefined when a step failed, or the invoice's workflow has started meanwhile. A
 * failed step leaves nothing behind: the workflow takes it with its retries, and tells a failure
 * for good from one for now. Given intake's transaction (`locked`: it holds the invoice's lock),
 * the step runs in a savepoint of it, so the new invoice commits with its first step or without.
 */
export async function takeFirstStep(
  db: Db | Tx,
  activities: FirstStepActivities,
  invoice: { id: string; companyId: string; workflowId: string },
  opts: { locked?: boolean } = {},
): Promise<FirstStep | undefined> {
  try {
    return await db.transaction(async (tx) => {
      if (!opts.locked) await lockInvoice(tx, invoice.id);
      const prepared = await attemptInStep(() => activities.prepareRouting(tx, { invoiceId: invoice.id }));
      if (!prepared.ok) throw new StepNotKept(undefined);
      const p = InvoiceProcess.start(invoice.id, invoice.workflowId, prepared.value, clock, { reviews: true });
      const calls = settleCalls(
        {
          reviewInvoice: (input) => activities.reviewInvoice(tx, input),
          releaseObligation: (input) => activities.releaseObligation(tx, input),
          resolveAssignment: (input) => activities.resolveAssignment(tx, input),
        },
        attemptInStep,
      );
      if (await settle(p, { invoiceId: invoice.id, companyId: invoice.companyId }, calls)) throw new StepNotKept(undefined);
      const state: InvoiceState = { ...p.snapshot(), mails: p.takeOutbox() ?? [] };
      p.trim();
      const step: FirstStep = { process: p.toJSON(), state };
      // Kept before it is projected; a concurrent starter's step, kept first, wins (this one is rolled back).
      const kept = await tx
        .update(invoices)
        .set({ prepared: step })
        .where(and(eq(invoices.id, invoice.id), isNull(invoices.prepared), isNull(invoices.workflowStartedAt)))
        .returning({ id: invoices.id });
      if (kept.length > 0) return step;
      const [row] = await tx
        .select({ prepared: invoices.prepared, started: invoices.workflowStartedAt })
        .from(invoices)
        .where(eq(invoices.id, invoice.id));
      throw new StepNotKept(row?.prepared && !row.started ? (row.prepared as FirstStep) : undefined);
    });
  } catch (err) {
    if (err instanceof StepNotKept) return err.kept;
    throw err;
  }
}

/** Projects a kept first step (again: the projection is idempotent); false when that failed for now. */
export async function projectFirstStep(db: Db, companyId: string, step: FirstStep): Promise<boolean> {
  const { recordState } = recordStateActivity({ db, clock: clock.now });
  try {
    await recordState({ companyId, state: step.state, firstHistoryIndex: 0 });
    return true;
  } catch {
    return false;
  }
}

/** What the Web UI should show of a kept first step: stage, who it waits on, and `nobody` if nobody. */
export function firstStepShown(step: FirstStep): { stage: InvoiceState['stage']; assignees: string[]; blockedOn: string } {
  const p = InvoiceProcess.restore(step.process, clock);
  return { stage: p.stage, assignees: p.waitingOn, blockedOn: blockedOnPeople(p) };
}
