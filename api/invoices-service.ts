/**
 * What the invoice routes (and the demo seeding) do: intake, detail, lists and actions. Routes
 * stay thin; this module talks to Postgres and to Temporal.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { and, asc, desc, eq, gt, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/client';
import { lockInvoice } from '../db/locks';
import { auditEvents, codingRows, invoiceLines, invoices, journalEntries, journalLines, tasks, vendors } from '../db/schema';
import { format, money } from '../domain/money';
import { audit } from '../activities';
import {
  ACTION_REFUSED,
  INVOICE_WORKFLOW_TYPE,
  TASK_QUEUE,
  approveUpdate,
  invoiceWorkflowId,
  rejectUpdate,
  searchAttributes,
  type ActionResult,
  type InvoiceWorkflowInput,
  type Refusal,
} from '../workflows/definitions';
import { canSee, type CurrentUser } from './auth';
import { ApiError } from './errors';
import type { InvoiceIntakeInput } from './schemas';

export interface ServiceDeps {
  db: Db;
  temporal: Client;
}

const UNIQUE_VIOLATION = '23505';

/**
 * Registers an invoice and starts its workflow in one transaction: if the start fails nothing is
 * stored, and the workflow's first activity waits on the invoice lock until the insert commits.
 */
export async function createInvoice(
  { db, temporal }: ServiceDeps,
  user: CurrentUser,
  input: InvoiceIntakeInput,
): Promise<{ id: string; workflowId: string; stage: 'new' }> {
  const id = randomUUID();
  const workflowId = invoiceWorkflowId(id);
  try {
    await db.transaction(async (tx) => {
      await lockInvoice(tx, id);
      const vendor = await resolveVendor(tx, user, input.vendor, id);
      const [duplicate] = await tx
        .select({ id: invoices.id })
        .from(invoices)
        .where(
          and(eq(invoices.companyId, user.companyId), eq(invoices.vendorId, vendor.id), eq(invoices.invoiceNumber, input.invoiceNumber)),
        );
      if (duplicate) throw duplicateError(duplicate.id, input.invoiceNumber);
      const amounts = {
        net: format(money(input.net, input.currency)),
        tax: format(money(input.tax, input.currency)),
        gross: format(money(input.gross, input.currency)),
      };
      await tx.insert(invoices).values({
        id,
        companyId: user.companyId,
        vendorId: vendor.id,
        documentType: input.documentType,
        invoiceNumber: input.invoiceNumber,
        invoiceDate: input.invoiceDate,
        dueDate: input.dueDate,
        currency: input.currency,
        ...amounts,
        buyerReference: input.buyerReference ?? null,
        orderReference: input.orderReference ?? null,
        contractReference: input.contractReference ?? null,
        confidential: input.confidential,
        workflowId,
        createdBy: user.id,
      });
      if (input.lines.length > 0) {
        await tx.insert(invoiceLines).values(input.lines.map((l, i) => ({ invoiceId: id, lineNo: i + 1, ...l })));
      }
      await audit(tx, {
        companyId: user.companyId,
        invoiceId: id,
        actor: user.id,
        kind: 'intake',
        message: `${input.documentType === 'credit_note' ? 'Credit note' : 'Invoice'} ${input.invoiceNumber} from ${vendor.name} received (${amounts.gross} ${input.currency})`,
      });
      const workflowInput: InvoiceWorkflowInput = { invoiceId: id, companyId: user.companyId };
      await temporal.workflow.start(INVOICE_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: TASK_QUEUE,
        args: [workflowInput],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        typedSearchAttributes: [
          { key: searchAttributes.InvoiceStage, value: 'new' },
          { key: searchAttributes.CompanyId, value: user.companyId },
          { key: searchAttributes.VendorId, value: vendor.id },
          { key: searchAttributes.GrossAmount, value: Number(amounts.gross) },
          { key: searchAttributes.DueDate, value: new Date(`${input.dueDate}T00:00:00Z`) },
        ],
      });
    });
  } catch (err) {
    // Two identical submissions at once: the unique index lets one through.
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
      const existing = await findDuplicate(db, user, input);
      if (existing) throw duplicateError(existing, input.invoiceNumber);
    }
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new ApiError(409, 'already_started', `A workflow for this invoice already exists`);
    }
    throw err;
  }
  return { id, workflowId, stage: 'new' };
}

function duplicateError(existingId: string, invoiceNumber: string): ApiError {
  return new ApiError(409, 'duplicate_invoice', `Invoice ${invoiceNumber} from this vendor is already registered`, [{ existingId }]);
}

async function findDuplicate(db: Db, user: CurrentUser, input: InvoiceIntakeInput): Promise<string | undefined> {
  const vendorId = 'id' in input.vendor ? input.vendor.id : (await findVendor(db, user.companyId, input.vendor))?.id;
  if (!vendorId) return undefined;
  const [row] = await db
    .select({ id: invoices.id })
    .from(invoices)
    .where(and(eq(invoices.companyId, user.companyId), eq(invoices.vendorId, vendorId), eq(invoices.invoiceNumber, input.invoiceNumber)));
  return row?.id;
}

type VendorInput = InvoiceIntakeInput['vendor'];
type NewVendor = Exclude<VendorInput, { id: string }>;

async function findVendor(db: Db | Tx, companyId: string, v: NewVendor) {
  const keys: SQL[] = [];
  if (v.endpointId) keys.push(eq(vendors.endpointId, v.endpointId));
  if (v.vatNumber) keys.push(eq(vendors.vatNumber, v.vatNumber));
  if (keys.length === 0) keys.push(sql`lower(${vendors.name}) = lower(${v.name})`);
  const [vendor] = await db
    .select()
    .from(vendors)
    .where(and(eq(vendors.companyId, companyId), or(...keys)))
    .limit(1);
  return vendor;
}

/** A known vendor by id, endpoint id or VAT number; otherwise a new one from the document's party. */
async function resolveVendor(tx: Tx, user: CurrentUser, v: VendorInput, invoiceId: string) {
  if ('id' in v) {
    const [vendor] = await tx
      .select()
      .from(vendors)
      .where(and(eq(vendors.id, v.id), eq(vendors.companyId, user.companyId)));
    if (!vendor)
      throw new ApiError(422, 'validation_failed', 'The invoice is not valid', [{ path: 'vendor.id', message: 'no such vendor' }]);
    return vendor;
  }
  const known = await findVendor(tx, user.companyId, v);
  if (known) return known;
  const [created] = await tx
    .insert(vendors)
    .values({
      companyId: user.companyId,
      name: v.name,
      vatNumber: v.vatNumber ?? null,
      endpointId: v.endpointId ?? null,
      email: v.email ?? null,
    })
    .returning();
  await audit(tx, {
    companyId: user.companyId,
    invoiceId,
    actor: user.id,
    kind: 'vendor_created',
    message: `Vendor "${v.name}" created from the invoice's supplier party`,
    data: { vendorId: created!.id },
  });
  return created!;
}

/** The invoice row, or a 404 when it does not exist or the user may not see it. */
export async function visibleInvoice(db: Db, user: CurrentUser, id: string) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw ApiError.notFound('invoice');
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, id));
  if (!invoice || !canSee(user, invoice)) throw ApiError.notFound('invoice');
  return invoice;
}

const amount = (value: string, currency: string) => format(money(value, currency));

/** Everything about one invoice, from Postgres (the system of record). */
export async function invoiceDetail(db: Db, user: CurrentUser, id: string) {
  const inv = await visibleInvoice(db, user, id);
  const [vendor] = await db.select().from(vendors).where(eq(vendors.id, inv.vendorId));
  const [lines, rows, taskRows, events, [entry]] = await Promise.all([
    db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, id)).orderBy(asc(invoiceLines.lineNo)),
    db.select().from(codingRows).where(eq(codingRows.invoiceId, id)).orderBy(asc(codingRows.rowNo)),
    db.select().from(tasks).where(eq(tasks.invoiceId, id)).orderBy(asc(tasks.openedAt)),
    db.select().from(auditEvents).where(eq(auditEvents.invoiceId, id)).orderBy(asc(auditEvents.at), asc(auditEvents.id)),
    db.select().from(journalEntries).where(eq(journalEntries.invoiceId, id)),
  ]);
  const postingLines = entry
    ? await db.select().from(journalLines).where(eq(journalLines.entryId, entry.id)).orderBy(asc(journalLines.lineNo))
    : [];
  const c = inv.currency;
  return {
    id: inv.id,
    workflowId: inv.workflowId,
    stage: inv.stage,
    vendor: { id: vendor!.id, name: vendor!.name, vatNumber: vendor!.vatNumber, endpointId: vendor!.endpointId, email: vendor!.email },
    documentType: inv.documentType,
    invoiceNumber: inv.invoiceNumber,
    invoiceDate: inv.invoiceDate,
    dueDate: inv.dueDate,
    currency: c,
    net: amount(inv.net, c),
    tax: amount(inv.tax, c),
    gross: amount(inv.gross, c),
    buyerReference: inv.buyerReference,
    orderReference: inv.orderReference,
    contractReference: inv.contractReference,
    confidential: inv.confidential,
    lines: lines.map((l) => ({
      description: l.description,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      net: amount(l.net, c),
      taxRate: l.taxRate,
    })),
    codingRows: rows.map((r) => ({
      id: r.id,
      rowNo: r.rowNo,
      kind: r.kind,
      account: r.account,
      dimensions: r.dimensions,
      taxCode: r.taxCode,
      amount: amount(r.amount, c),
      reviewSignature: r.reviewedBy ? { by: r.reviewedBy, at: r.reviewedAt } : null,
      approvalSignature: r.approvedBy ? { by: r.approvedBy, at: r.approvedAt } : null,
    })),
    review: null,
    tasks: taskRows.map((t) => ({
      id: t.id,
      stage: t.stage,
      mode: t.mode,
      state: t.state,
      assignees: t.assignees,
      actedBy: t.actedBy,
      action: t.action,
      openedAt: t.openedAt,
      closedAt: t.closedAt,
    })),
    audit: events.map((e) => ({ at: e.at, actor: e.actor, kind: e.kind, message: e.message })),
    posting: entry
      ? {
          id: entry.id,
          postedAt: entry.postedAt,
          lines: postingLines.map((l) => ({
            account: l.account,
            debit: amount(l.debit, c),
            credit: amount(l.credit, c),
            dimensions: l.dimensions,
            description: l.description,
          })),
        }
      : null,
  };
}

// ---- Lists with keyset paging ----

interface Cursor {
  at: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (!raw) return undefined;
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.at === 'string' && typeof c.id === 'string' && !Number.isNaN(Date.parse(c.at))) return c;
  } catch {
    // fall through to the error below
  }
  throw new ApiError(400, 'bad_cursor', 'The cursor is not one this API returned');
}

/** The user's tasks, joined with their invoices, for the work queue. */
export async function workQueue(
  db: Db,
  user: CurrentUser,
  q: { queue: 'personal' | 'credit-memo' | 'past-due'; state: 'open' | 'done'; limit: number; cursor?: string | undefined },
  today: string,
) {
  const cursor = decodeCursor(q.cursor);
  const mine =
    q.state === 'open'
      ? and(eq(tasks.state, 'open'), sql`${tasks.assignees} @> array[${user.id}]::text[]`)
      : and(eq(tasks.state, 'done'), sql`${tasks.actedBy} @> array[${user.id}]::text[]`);
  const filters = [eq(tasks.companyId, user.companyId), mine];
  if (!user.confidential) filters.push(eq(invoices.confidential, false));
  if (q.queue === 'credit-memo') filters.push(eq(invoices.documentType, 'credit_note'));
  if (q.queue === 'past-due') filters.push(lt(invoices.dueDate, today));
  if (cursor) {
    filters.push(or(gt(tasks.openedAt, new Date(cursor.at)), and(eq(tasks.openedAt, new Date(cursor.at)), gt(tasks.id, cursor.id)))!);
  }
  const rows = await db
    .select({ task: tasks, invoice: invoices, vendorName: vendors.name })
    .from(tasks)
    .innerJoin(invoices, eq(invoices.id, tasks.invoiceId))
    .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
    .where(and(...filters))
    .orderBy(asc(tasks.openedAt), asc(tasks.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(({ task, invoice, vendorName }) => ({
      invoiceId: invoice.id,
      taskId: task.id,
      stage: invoice.stage,
      taskStage: task.stage,
      state: task.state,
      vendor: { id: invoice.vendorId, name: vendorName },
      invoiceNumber: invoice.invoiceNumber,
      gross: amount(invoice.gross, invoice.currency),
      currency: invoice.currency,
      dueDate: invoice.dueDate,
      documentType: invoice.documentType,
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.task.openedAt.toISOString(), id: last.task.id }) : null,
  };
}

/** Invoices of the user's company, newest first. */
export async function listInvoices(
  db: Db,
  user: CurrentUser,
  q: { stage?: string | undefined; vendorId?: string | undefined; limit: number; cursor?: string | undefined },
) {
  const cursor = decodeCursor(q.cursor);
  const filters = [eq(invoices.companyId, user.companyId)];
  if (!user.confidential) filters.push(eq(invoices.confidential, false));
  if (q.stage) filters.push(sql`${invoices.stage} = ${q.stage}`);
  if (q.vendorId) filters.push(eq(invoices.vendorId, q.vendorId));
  if (cursor) {
    filters.push(
      or(lt(invoices.createdAt, new Date(cursor.at)), and(eq(invoices.createdAt, new Date(cursor.at)), lt(invoices.id, cursor.id)))!,
    );
  }
  const rows = await db
    .select({ invoice: invoices, vendorName: vendors.name })
    .from(invoices)
    .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
    .where(and(...filters))
    .orderBy(desc(invoices.createdAt), desc(invoices.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(({ invoice: i, vendorName }) => ({
      id: i.id,
      stage: i.stage,
      vendor: { id: i.vendorId, name: vendorName },
      documentType: i.documentType,
      invoiceNumber: i.invoiceNumber,
      invoiceDate: i.invoiceDate,
      dueDate: i.dueDate,
      currency: i.currency,
      gross: amount(i.gross, i.currency),
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.invoice.createdAt.toISOString(), id: last.invoice.id }) : null,
  };
}

// ---- Actions ----

export type ActionRequest = { kind: 'approve'; comment?: string | undefined } | { kind: 'reject'; reason: string };

/** Sends an action to the invoice's workflow as an Update, as the authenticated user. */
export async function performAction(
  { db, temporal }: ServiceDeps,
  user: CurrentUser,
  invoiceId: string,
  action: ActionRequest,
  updateId?: string,
): Promise<ActionResult> {
  const invoice = await visibleInvoice(db, user, invoiceId);
  const handle = temporal.workflow.getHandle(invoice.workflowId);
  const options = updateId ? { updateId } : {};
  try {
    if (action.kind === 'approve') {
      return await handle.executeUpdate(approveUpdate, {
        args: [{ by: user.id, ...(action.comment ? { comment: action.comment } : {}) }],
        ...options,
      });
    }
    return await handle.executeUpdate(rejectUpdate, { args: [{ by: user.id, reason: action.reason }], ...options });
  } catch (err) {
    throw actionError(err, invoice.stage);
  }
}

const REFUSAL_STATUS: Partial<Record<Refusal['code'], number>> = { not_assignee: 403, invalid_payload: 422 };

function actionError(err: unknown, stage: string): unknown {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ACTION_REFUSED) {
    const refusal = (err.cause.details?.[0] ?? { code: 'wrong_stage', message: err.cause.message }) as Refusal;
    return new ApiError(REFUSAL_STATUS[refusal.code] ?? 409, refusal.code, refusal.message);
  }
  if (err instanceof WorkflowNotFoundError || (err instanceof Error && /workflow execution already completed/i.test(err.message))) {
    return new ApiError(409, 'finished', `The invoice is ${stage}; its workflow takes no more actions`);
  }
  return err;
}
