/**
 * Starting an invoice's workflow, once its row is committed: by intake right after its
 * transaction, and by the worker's starter for any invoice whose start failed (Temporal away).
 * The workflow id is the invoice's, so a second start is a no-op, never a second workflow.
 * A starter with the activities takes the first step itself (lib/first-step.ts); the workflow
 * starts from that step, or, when there is none, takes it in its first task.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { and, asc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { invoices, taskUsers, vendors } from '../db/schema';
import { firstStepShown, projectFirstStep, takeFirstStep, type FirstStep, type FirstStepActivities } from './first-step';
import {
  INVOICE_WORKFLOW_TYPE,
  ROUTING_V2,
  TASK_QUEUE,
  invoiceWorkflowId,
  searchAttributes,
  type InvoiceWorkflowInput,
} from '../workflows/definitions';

export interface StartOptions {
  /** Invoice workflows continue as new past this many history events (tests set it low). */
  maxHistoryEvents?: number | undefined;
  /** How long to try before leaving the start to the worker's starter; default 5 s. */
  deadlineMs?: number;
  /** Take the first step here (the inbox); without, a step kept earlier is still used. */
  firstStep?: FirstStepActivities | undefined;
  /** The invoice as its caller has just committed it (intake), instead of reading it again. */
  loaded?: LoadedInvoice;
}

/** An invoice row with its vendor's name, as a start reads it. */
export interface LoadedInvoice {
  invoice: typeof invoices.$inferSelect;
  vendorName: string;
}

/** Starts the invoice's workflow (or finds it started) and records that; false when Temporal refused for now. */
export async function startInvoiceWorkflow(db: Db, temporal: Client, invoiceId: string, opts: StartOptions = {}): Promise<boolean> {
  const [row] = opts.loaded
    ? [opts.loaded]
    : await db
        .select({ invoice: invoices, vendorName: vendors.name })
        .from(invoices)
        .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
        .where(eq(invoices.id, invoiceId));
  if (!row) return false;
  const i = row.invoice;
  const kind = i.documentType === 'credit_note' ? 'Credit note' : 'Invoice';
  const step =
    (i.prepared as FirstStep | null) ??
    (opts.firstStep
      ? await takeFirstStep(db, opts.firstStep, { id: i.id, companyId: i.companyId, workflowId: invoiceWorkflowId(i.id) })
      : undefined);
  // Projected (again) before the start: the workflow takes it as written.
  if (step && !(await projectFirstStep(db, i.companyId, step))) return false;
  const shown = step ? firstStepShown(step) : { stage: 'new' as const, assignees: [], blockedOn: '' };
  const input: InvoiceWorkflowInput = {
    invoiceId: i.id,
    companyId: i.companyId,
    routing: ROUTING_V2,
    ...(opts.maxHistoryEvents ? { maxHistoryEvents: opts.maxHistoryEvents } : {}),
    ...(step ? { resume: { process: step.process, historyOffset: step.state.history.length, firstStep: true } } : {}),
  };
  try {
    const deadline = Date.now() + (opts.deadlineMs ?? 5000);
    await temporal.withDeadline(deadline, () =>
      temporal.workflow.start(INVOICE_WORKFLOW_TYPE, {
        workflowId: invoiceWorkflowId(i.id),
        taskQueue: TASK_QUEUE,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        typedSearchAttributes: [
          { key: searchAttributes.InvoiceStage, value: shown.stage },
          ...(shown.assignees.length > 0 ? [{ key: searchAttributes.Assignees, value: shown.assignees }] : []),
          ...(shown.blockedOn ? [{ key: searchAttributes.BlockedOn, value: shown.blockedOn }] : []),
          { key: searchAttributes.CompanyId, value: i.companyId },
          { key: searchAttributes.VendorId, value: i.vendorId },
          { key: searchAttributes.InvoiceNumber, value: i.invoiceNumber },
          // Temporal's Double, for sorting and filtering in the Web UI only; the amount itself stays a decimal string.
          { key: searchAttributes.GrossAmount, value: Number(i.gross) },
          { key: searchAttributes.DueDate, value: new Date(`${i.dueDate}T00:00:00Z`) },
        ],
        // What an administrator reads in the Web UI's workflow list and header.
        staticSummary: `${kind} ${i.invoiceNumber} · ${row.vendorName} · ${i.gross} ${i.currency}`,
        staticDetails: [
          `**${kind}** ${i.invoiceNumber} from **${row.vendorName}**`,
          `Gross ${i.gross} ${i.currency} (net ${i.net}, tax ${i.tax}), dated ${i.invoiceDate}, due ${i.dueDate}`,
          `Invoice id \`${i.id}\`, company \`${i.companyId}\`${i.confidential ? ', confidential' : ''}`,
        ].join('  \n'),
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) return false;
  }
  await db
    .update(invoices)
    .set({ workflowStartedAt: new Date(), prepared: null })
    .where(and(eq(invoices.id, i.id), isNull(invoices.workflowStartedAt)));
  return true;
}

/** Invoices committed at least `olderThanMs` ago whose workflow is not started yet (the inbox's wait for a person), oldest first. */
export async function unstartedInvoices(db: Db, olderThanMs: number, limit = 100): Promise<string[]> {
  const rows = await db
    .select({ id: invoices.id })
    .from(invoices)
    .where(
      and(
        isNull(invoices.workflowStartedAt),
        eq(invoices.manualStart, false),
        lt(invoices.createdAt, sql`now() - make_interval(secs => ${olderThanMs / 1000})`),
      ),
    )
    .orderBy(asc(invoices.createdAt))
    .limit(limit);
  return rows.map((r) => r.id);
}

/**
 * The invoices of a company with an open task on which one of `userIds` is a pending assignee
 * (a partner company's invoices are left out: only its own admins may refresh them).
 */
export async function invoicesWaitingOn(
  db: Db,
  companyId: string,
  userIds: readonly string[],
): Promise<{ invoiceId: string; workflowId: string }[]> {
  if (userIds.length === 0) return [];
  return db
    .selectDistinct({ invoiceId: taskUsers.invoiceId, workflowId: invoices.workflowId })
    .from(taskUsers)
    .innerJoin(invoices, eq(invoices.id, taskUsers.invoiceId))
    .where(
      and(
        inArray(taskUsers.userId, [...userIds]),
        eq(taskUsers.relation, 'assignee'),
        eq(taskUsers.state, 'open'),
        eq(invoices.companyId, companyId),
      ),
    );
}
