/**
 * Mass posting of sales invoices (SPEC 2.5): the preview (blockers per invoice in a clerk's words,
 * customer items to be created, a token bound to the selection and its versions), the confirmed
 * posting (refused with 409 when anything changed since the preview; the invoices are held for the
 * run in the same transaction, then `salesPostingWorkflow` posts them), its progress, and post and
 * pay for cash sales.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { and, asc, count, eq, inArray } from 'drizzle-orm';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { audit } from '../activities/audit';
import { companySalesSettings, postSalesInvoices, salesFacts, type SalesFacts } from '../activities/sales-posting';
import type { Db } from '../db/client';
import { customerItems, salesInvoices, salesPostPreviews, salesPostings } from '../db/schema';
import { format, money, sameAmount } from '../domain/money';
import { PaymentMismatchError } from '../domain/sales';
import { PAYMENT_METHODS, POSTING_MODES } from '../domain/sales-terms';
import type { Logger } from '../lib/logger';
import { TASK_QUEUE } from '../workflows/definitions';
import {
  cancelSalesPostingUpdate,
  DEFAULT_SALES_CHUNK_SIZE,
  SALES_POSTING_WORKFLOW_TYPE,
  salesPostingProgressQuery,
  salesPostingWorkflowId,
  type SalesPostingInput,
  type SalesPostingProgress,
} from '../workflows/sales-definitions';
import type { CurrentUser } from './auth';
import { isUuid } from './auth';
import { ApiError, parseOr422 } from './errors';
import { filterConditions, ownedSalesInvoice, SalesListQuery } from './sales-service';
import { CalendarDate, Decimal } from './schemas';

/** The most invoices one preview (and one posting run) takes. */
export const SALES_SELECTION_LIMIT = 10_000;

export const PreviewBody = z.union([
  z.strictObject({ ids: z.array(z.uuid()).min(1).max(SALES_SELECTION_LIMIT) }),
  z.strictObject({
    filter: SalesListQuery.omit({ limit: true, cursor: true, state: true }).openapi({ description: 'The unposted invoices matching it' }),
  }),
]);

export const PostBody = z.strictObject({
  previewToken: z.uuid(),
  confirm: z.literal(true).openapi({ description: 'true: the clerk confirmed the preview (and the customer items it creates)' }),
  mode: z.enum(POSTING_MODES),
});

export const PostAndPayBody = z.strictObject({
  payment: z.strictObject({
    method: z.enum(PAYMENT_METHODS),
    amount: Decimal,
    date: CalendarDate,
  }),
});

/** How the API runs postings: the worker's task queue, and chunks (tests make them small). */
export interface SalesPostingOptions {
  taskQueue?: string;
  chunkSize?: number;
  heartbeatTimeoutSeconds?: number;
}

export interface SalesDeps {
  db: Db;
  temporal: Client;
  clock: () => Date;
  log: Logger;
  salesPosting?: SalesPostingOptions;
}

function previewItem(f: SalesFacts) {
  return {
    id: f.invoice.id,
    invoiceNumber: f.invoice.invoiceNumber,
    customer: { id: f.customer.id, name: f.customer.name, paymentTerms: f.customer.paymentTerms },
    gross: f.invoice.gross,
    currency: f.invoice.currency,
    version: f.invoice.version,
    postable: f.blockers.length === 0,
    blockers: f.blockers,
    /** Customer items posting it creates. */
    customerItems: f.items.filter((i) => i.state === 'pending').length,
  };
}

/** `POST /sales-invoices/post-preview`: every selected invoice with its blockers, the totals, and the token. */
export async function previewPosting(deps: SalesDeps, user: CurrentUser, input: unknown) {
  const body = parseOr422(PreviewBody, input, 'preview');
  let rows;
  if ('ids' in body) {
    const ids = [...new Set(body.ids)];
    rows = await deps.db
      .select()
      .from(salesInvoices)
      .where(and(inArray(salesInvoices.id, ids), eq(salesInvoices.companyId, user.companyId)));
    const found = new Set(rows.map((r) => r.id));
    const unknown = ids.filter((id) => !found.has(id));
    if (unknown.length > 0) {
      throw new ApiError(
        422,
        'unknown_invoices',
        `${unknown.length} of the selected invoices do not exist`,
        unknown.map((id) => ({ id, message: 'no such sales invoice' })),
      );
    }
    const order = new Map(ids.map((id, i) => [id, i]));
    rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  } else {
    rows = await deps.db
      .select()
      .from(salesInvoices)
      .where(and(...filterConditions(user.companyId, { ...body.filter, state: 'unposted' })))
      .orderBy(asc(salesInvoices.invoiceDate), asc(salesInvoices.id))
      .limit(SALES_SELECTION_LIMIT + 1);
    if (rows.length > SALES_SELECTION_LIMIT) {
      throw new ApiError(422, 'selection_too_large', `The filter selects more than ${SALES_SELECTION_LIMIT} invoices; narrow it`);
    }
    if (rows.length === 0) throw new ApiError(422, 'nothing_selected', 'No unposted invoice matches the filter');
  }
  const config = await companySalesSettings(deps.db, user.companyId);
  const facts = await salesFacts(deps.db, rows, config);
  const [preview] = await deps.db
    .insert(salesPostPreviews)
    .values({
      companyId: user.companyId,
      userId: user.id,
      selection: facts.map((f) => ({ id: f.invoice.id, version: f.invoice.version, blockers: f.blockers.map((b) => b.code).sort() })),
    })
    .returning({ id: salesPostPreviews.id });
  const items = facts.map(previewItem);
  const postable = items.filter((i) => i.postable);
  return {
    previewToken: preview!.id,
    summary: {
      selected: items.length,
      postable: postable.length,
      blocked: items.length - postable.length,
      customerItemsToCreate: postable.reduce((n, i) => n + i.customerItems, 0),
      settings: { requireCustomerItemReview: config.requireCustomerItemReview },
    },
    invoices: items,
  };
}

/**
 * `POST /sales-invoices/post`: checks the selection against the preview (409 if anything changed),
 * holds the postable invoices for the run and starts it. A second confirmation of the same preview
 * answers the same run.
 */
export async function confirmPosting(deps: SalesDeps, user: CurrentUser, input: unknown) {
  const body = parseOr422(PostBody, input, 'posting');
  const postingId = salesPostingWorkflowId(body.previewToken);
  const result = await deps.db.transaction(async (tx) => {
    const [preview] = await tx
      .select()
      .from(salesPostPreviews)
      .where(
        and(
          eq(salesPostPreviews.id, body.previewToken),
          eq(salesPostPreviews.companyId, user.companyId),
          eq(salesPostPreviews.userId, user.id),
        ),
      )
      .for('update');
    if (!preview) throw new ApiError(404, 'not_found', 'No such preview (a preview is confirmed by the user who made it)');
    const [existing] = await tx.select().from(salesPostings).where(eq(salesPostings.id, postingId));
    if (existing)
      return {
        posting: existing,
        refused: [] as { id: string; invoiceNumber: string; reasons: string[] }[],
        customerItems: 0,
        again: true,
      };
    const ids = preview.selection.map((s) => s.id);
    const rows = await tx
      .select()
      .from(salesInvoices)
      .where(and(inArray(salesInvoices.id, ids), eq(salesInvoices.companyId, user.companyId)))
      .orderBy(asc(salesInvoices.id))
      .for('update');
    const config = await companySalesSettings(tx, user.companyId);
    const facts = new Map((await salesFacts(tx, rows, config)).map((f) => [f.invoice.id, f]));
    const changed = preview.selection.flatMap((s) => {
      const f = facts.get(s.id);
      if (!f) return [{ id: s.id, message: 'It no longer exists' }];
      if (f.invoice.version !== s.version) {
        return [
          {
            id: s.id,
            invoiceNumber: f.invoice.invoiceNumber,
            message: `It was changed (version ${s.version} then, ${f.invoice.version} now)`,
          },
        ];
      }
      const now = f.blockers.map((b) => b.code).sort();
      if (now.join() !== s.blockers.join()) {
        return [
          {
            id: s.id,
            invoiceNumber: f.invoice.invoiceNumber,
            message: `What keeps it from posting changed: ${now.length === 0 ? 'nothing now' : f.blockers.map((b) => b.message).join('; ')}`,
          },
        ];
      }
      return [];
    });
    if (changed.length > 0) {
      throw new ApiError(
        409,
        'changed_since_preview',
        `${changed.length} of the selected invoices changed since the preview; preview again and confirm what you see`,
        changed,
      );
    }
    const all = preview.selection.map((s) => facts.get(s.id)!);
    const refused = all
      .filter((f) => f.blockers.length > 0)
      .map((f) => ({ id: f.invoice.id, invoiceNumber: f.invoice.invoiceNumber, reasons: f.blockers.map((b) => b.message) }));
    if (body.mode === 'all-or-nothing' && refused.length > 0) {
      throw new ApiError(
        422,
        'not_all_postable',
        `${refused.length} of the ${all.length} selected invoices cannot be posted, so none was posted (all-or-nothing); fix them, or post the postable ones only`,
        refused,
      );
    }
    const postable = all.filter((f) => f.blockers.length === 0);
    if (postable.length === 0) throw new ApiError(422, 'nothing_to_post', 'None of the selected invoices can be posted', refused);
    const [posting] = await tx
      .insert(salesPostings)
      .values({
        id: postingId,
        previewId: preview.id,
        companyId: user.companyId,
        createdBy: user.id,
        mode: body.mode,
        invoiceIds: postable.map((f) => f.invoice.id),
      })
      .returning();
    await tx
      .update(salesInvoices)
      .set({ postingId })
      .where(
        inArray(
          salesInvoices.id,
          postable.map((f) => f.invoice.id),
        ),
      );
    await audit(tx, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'sales_posting_confirmed',
      message: `Sales posting ${postingId} confirmed (${body.mode}): ${postable.length} invoices to post, ${refused.length} refused`,
      data: { postingId, refused },
    });
    const items = postable.reduce((n, f) => n + f.items.filter((i) => i.state === 'pending').length, 0);
    return { posting: posting!, refused, customerItems: items, again: false };
  });
  // Committed first, then started: a retried confirmation starts a run that could not start.
  await startPostingRun(deps, result.posting);
  return {
    postingId,
    workflowId: postingId,
    mode: result.posting.mode,
    state: result.posting.state,
    total: result.posting.invoiceIds.length,
    customerItemsToCreate: result.customerItems,
    refused: result.refused,
    repeated: result.again,
  };
}

async function startPostingRun(deps: SalesDeps, posting: typeof salesPostings.$inferSelect): Promise<void> {
  if (posting.state !== 'running') return;
  const input: SalesPostingInput = {
    postingId: posting.id,
    invoiceIds: posting.invoiceIds,
    chunkSize: deps.salesPosting?.chunkSize ?? DEFAULT_SALES_CHUNK_SIZE,
    ...(deps.salesPosting?.heartbeatTimeoutSeconds ? { heartbeatTimeoutSeconds: deps.salesPosting.heartbeatTimeoutSeconds } : {}),
  };
  try {
    await deps.temporal.workflow.start(SALES_POSTING_WORKFLOW_TYPE, {
      taskQueue: deps.salesPosting?.taskQueue ?? TASK_QUEUE,
      workflowId: posting.id,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      deps.log.error({ err, postingId: posting.id }, 'sales posting could not start');
      throw new ApiError(503, 'temporal_unavailable', 'The posting is confirmed but could not start yet; send the same confirmation again');
    }
  }
}

export interface PostingStatus extends Omit<SalesPostingProgress, 'cancelRequested' | 'chunksDone'> {
  id: string;
  mode: string;
  createdBy: string;
  createdAt: Date;
  finishedAt: Date | null;
}

/** A posting's progress: from its workflow while it runs (if the worker answers in time), otherwise from the database. */
export async function postingStatus(deps: SalesDeps, user: CurrentUser, id: string): Promise<PostingStatus> {
  const [posting] = await deps.db
    .select()
    .from(salesPostings)
    .where(and(eq(salesPostings.id, id), eq(salesPostings.companyId, user.companyId)));
  if (!posting) throw ApiError.notFound('sales posting');
  const base = {
    id: posting.id,
    mode: posting.mode,
    createdBy: posting.createdBy,
    createdAt: posting.createdAt,
    finishedAt: posting.finishedAt,
  };
  if (posting.state !== 'running') {
    return {
      ...base,
      state: posting.state,
      total: posting.invoiceIds.length,
      processed: posting.invoiceIds.length,
      posted: posting.posted,
      customerItems: posting.customerItems,
      refused: posting.refused,
    };
  }
  // At most 2 s (a gRPC deadline, so no call lingers on): with the worker away, the database answers.
  const live = await deps.temporal
    .withDeadline(Date.now() + 2000, () => deps.temporal.workflow.getHandle(id).query(salesPostingProgressQuery))
    .catch(() => undefined);
  if (live) {
    const { cancelRequested: _c, chunksDone: _d, ...progress } = live;
    return { ...base, ...progress };
  }
  // The worker is away: count what the database says is posted.
  const [done] = await deps.db
    .select({ n: count() })
    .from(salesInvoices)
    .where(and(eq(salesInvoices.postingId, id), eq(salesInvoices.state, 'posted')));
  const [items] = await deps.db
    .select({ n: count() })
    .from(customerItems)
    .innerJoin(salesInvoices, eq(salesInvoices.id, customerItems.salesInvoiceId))
    .where(and(eq(salesInvoices.postingId, id), eq(salesInvoices.state, 'posted')));
  return {
    ...base,
    state: 'running',
    total: posting.invoiceIds.length,
    processed: done?.n ?? 0,
    posted: done?.n ?? 0,
    customerItems: items?.n ?? 0,
    refused: [],
  };
}

/** Whether the caller asked for NDJSON progress. */
export function wantsNdjson(req: Request): boolean {
  return req.accepts(['application/json', 'application/x-ndjson']) === 'application/x-ndjson';
}

/** Writes the posting's progress as NDJSON, one line whenever it moves, until it finishes. */
export async function streamProgress(deps: SalesDeps, user: CurrentUser, id: string, res: Response, first?: object): Promise<void> {
  res.status(200).type('application/x-ndjson');
  if (first) res.write(`${JSON.stringify(first)}\n`);
  let last = '';
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  for (;;) {
    const status = await postingStatus(deps, user, id);
    const line = JSON.stringify({
      state: status.state,
      total: status.total,
      processed: status.processed,
      posted: status.posted,
      customerItems: status.customerItems,
    });
    if (line !== last) res.write(`${line}\n`);
    last = line;
    if (status.state !== 'running' || closed) {
      if (!closed) res.end(`${JSON.stringify({ done: true, ...status })}\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `POST /sales-invoices/:id/post-and-pay`: a cash sale posted with its payment in one balanced journal. */
export async function postAndPay(deps: SalesDeps, user: CurrentUser, id: string, input: unknown) {
  const body = parseOr422(PostAndPayBody, input, 'payment');
  return deps.db.transaction(async (tx) => {
    const invoice = await ownedSalesInvoice(tx, user, id, true);
    const config = await companySalesSettings(tx, user.companyId);
    const [facts] = await salesFacts(tx, [invoice], config);
    if (facts!.customer.paymentTerms !== 'cash_sales_only') {
      throw new ApiError(
        422,
        'not_cash_sale',
        `${facts!.customer.name} does not have cash-sales-only terms: post this invoice with the others (mass posting), and record its payment when it comes`,
      );
    }
    let paid;
    try {
      paid = money(body.payment.amount, invoice.currency);
    } catch {
      throw new ApiError(422, 'validation_failed', `The payment amount has more decimals than ${invoice.currency} has`);
    }
    if (!sameAmount(paid, money(invoice.gross, invoice.currency))) {
      throw new ApiError(
        422,
        'payment_mismatch',
        `The payment of ${format(paid)} ${invoice.currency} does not equal the invoice's gross of ${invoice.gross} ${invoice.currency}; a cash sale is paid in full`,
      );
    }
    let outcome;
    try {
      outcome = await postSalesInvoices(tx, {
        companyId: user.companyId,
        invoiceIds: [id],
        postingId: null,
        now: deps.clock(),
        allow: ['cash_sales_only'],
        payment: (_f, c) => ({
          account: body.payment.method === 'cash' ? c.cashAccount : c.bankAccount,
          amount: body.payment.amount,
          method: body.payment.method,
          date: body.payment.date,
        }),
      });
    } catch (err) {
      if (err instanceof PaymentMismatchError) throw new ApiError(422, 'payment_mismatch', err.message);
      throw err;
    }
    const refusal = outcome.refused[0];
    if (refusal)
      throw new ApiError(
        409,
        'not_postable',
        `The invoice cannot be posted: ${refusal.reasons.join('; ')}`,
        refusal.reasons.map((message) => ({ message })),
      );
    await audit(tx, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'sales_invoice_posted_and_paid',
      message: `Sales invoice ${invoice.invoiceNumber} posted and paid (${body.payment.method}, ${invoice.gross} ${invoice.currency})`,
      data: { salesInvoiceId: id, payment: body.payment },
    });
    return {
      id,
      state: 'posted' as const,
      journalEntryId: outcome.journalEntryIds[id]!,
      customerItems: outcome.customerItems,
      payment: body.payment,
    };
  });
}

/** `POST /sales-postings/:id/cancel`: the run stops before its next chunk. */
export async function cancelPosting(deps: SalesDeps, user: CurrentUser, id: string): Promise<PostingStatus> {
  if (!id.startsWith('sales-posting-') || !isUuid(id.slice('sales-posting-'.length))) throw ApiError.notFound('sales posting');
  const status = await postingStatus(deps, user, id);
  if (status.state !== 'running') throw new ApiError(409, 'finished', `The posting is already ${status.state}`);
  try {
    await deps.temporal.workflow
      .getHandle(id)
      .executeUpdate(cancelSalesPostingUpdate, { args: [{ by: user.id }], updateId: `cancel:${id}` });
  } catch (err) {
    deps.log.warn({ err, id }, 'cancel refused');
    throw new ApiError(409, 'finished', 'The posting finished before it could be cancelled');
  }
  return postingStatus(deps, user, id);
}
