/**
 * What the invoice routes (and the demo seeding) do: intake, detail, lists and actions. Routes
 * stay thin; this module talks to Postgres and to Temporal.
 */
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { and, asc, desc, eq, fillPlaceholders, isNull, lt, notInArray, or, sql, type Placeholder, type SQL } from 'drizzle-orm';
import { postgresClientOf, type Db, type Tx } from '../db/client';
import { lockInvoice } from '../db/locks';
import {
  auditEvents,
  codingRows,
  idempotencyKeys,
  invoiceAttachments,
  invoiceDocuments,
  invoiceLines,
  invoiceReviews,
  invoices,
  journalEntries,
  settings,
  journalLines,
  taskUsers,
  tasks,
  vendors,
} from '../db/schema';
import { codingSumProblems } from '../domain/coding';
import type { ReviewStatus } from '../domain/review';
import { format, money } from '../domain/money';
import type { UblAttachment, UblTotals } from '../domain/ubl/invoice';
import { audit } from '../activities';
import { sqlState } from '../activities/failures';
import { takeFirstStep, type FirstStepActivities } from '../lib/first-step';
import { startInvoiceWorkflow, type LoadedInvoice } from '../lib/invoice-workflows';
import type { Logger } from '../lib/logger';
import {
  ACTION_REFUSED,
  approveUpdate,
  codingChangedUpdate,
  delegateUpdate,
  exceptionsReviewUpdate,
  invoiceWorkflowId,
  notMineUpdate,
  overrideReviewUpdate,
  reassignUpdate,
  rejectUpdate,
  resolveExceptionUpdate,
  refreshUpdate,
  restartUpdate,
  reviewAgainUpdate,
  type ActionName,
  type ActionResult,
  type CodingRowPayload,
  type Refusal,
} from '../workflows/definitions';
import { canSee, isUuid, type CurrentUser } from './auth';
import { after, before, decodeCursor, pageOf } from './paging';
import { ApiError } from './errors';
import type { InvoiceIntakeInput } from './schemas';

export interface ServiceDeps {
  db: Db;
  temporal: Client;
  maxHistoryEvents?: number;
  /** Intake and the inbox take a new invoice's first step themselves (lib/first-step.ts). */
  firstStep?: FirstStepActivities;
}

const UNIQUE_VIOLATION = '23505';

/** The document as it arrived, kept byte for byte. */
export interface ReceivedDocument {
  contentType: string;
  bytes: Buffer;
}

/** What UBL intake adds to the common invoice fields. */
export interface UblExtras {
  customizationId: string;
  profileId?: string | undefined;
  totals: UblTotals;
  attachments: UblAttachment[];
  warnings: string[];
}

export interface IntakeRequest {
  invoice: InvoiceIntakeInput;
  document: ReceivedDocument;
  ubl?: UblExtras;
  idempotencyKey?: string | undefined;
}

export interface IntakeResponse {
  id: string;
  workflowId: string;
  stage: 'new';
  /** Held in the inbox: its workflow waits for `POST /invoices/:id/start`. */
  inbox: boolean;
}

/**
 * Registers an invoice, then starts its workflow: the invoice, its lines, its document and its
 * audit are one transaction, and the workflow starts only once that has committed (if Temporal
 * is away, the worker's starter starts it a few seconds later, so nothing is lost either way).
 * With an Idempotency-Key, a repeated request (even one sent while the first is still running)
 * gets the first request's response. Two identical submissions at once create one invoice: the
 * other gets the 409.
 */
export async function createInvoice(deps: ServiceDeps & { log?: Logger }, user: CurrentUser, req: IntakeRequest): Promise<IntakeResponse> {
  const { db, temporal, maxHistoryEvents, firstStep } = deps;
  const { invoice: input } = req;
  let inserted: Inserted;
  try {
    inserted = await insertInvoice(db, user, req, firstStep);
  } catch (err) {
    if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
    // The same invoice (or its new vendor) was registered by a concurrent request just now.
    const existing = await findDuplicate(db, user, input);
    if (existing) throw duplicateError(user, existing, input.invoiceNumber);
    inserted = await insertInvoice(db, user, req, firstStep);
  }
  const { response, loaded } = inserted;
  if (response.inbox) return response;
  // Its first step was taken (or tried) in the intake transaction: the start takes what it kept.
  if (!(await startInvoiceWorkflow(db, temporal, response.id, { maxHistoryEvents, ...(loaded ? { loaded } : {}) }))) {
    deps.log?.warn({ invoiceId: response.id }, 'invoice workflow not started yet; the worker starts it');
  }
  return response;
}

/** What intake wrote: its response, and the invoice as committed unless the response is a replay. */
interface Inserted {
  response: IntakeResponse;
  loaded?: LoadedInvoice;
}

/**
 * The intake transaction: idempotency key, vendor, duplicate check, invoice, lines, document,
 * audit, and the first step of an invoice that starts now (lib/first-step.ts).
 */
async function insertInvoice(db: Db, user: CurrentUser, req: IntakeRequest, firstStep?: FirstStepActivities): Promise<Inserted> {
  const { invoice: input, document, ubl } = req;
  const id = randomUUID();
  const workflowId = invoiceWorkflowId(id);
  const requestHash = createHash('sha256').update(document.contentType).update('\n').update(document.bytes).digest('hex');
  return db.transaction(async (tx) => {
    if (req.idempotencyKey) {
      const replay = await claimIdempotencyKey(tx, user.id, req.idempotencyKey, requestHash);
      if (replay) return { response: replay };
    }
    await lockInvoice(tx, id);
    const { vendor, created: vendorCreated } = await resolveVendor(tx, user, input.vendor);
    const [duplicate] = await tx
      .select({ id: invoices.id, companyId: invoices.companyId, confidential: invoices.confidential })
      .from(invoices)
      .where(duplicateOf(user, vendor.id, input));
    if (duplicate) throw duplicateError(user, duplicate, input.invoiceNumber);
    const inbox = !(input.autoStart ?? (await autoStartSetting(tx, user.companyId)));
    const c = input.currency;
    const amounts = {
      net: format(money(input.net, c)),
      tax: format(money(input.tax, c)),
      gross: format(money(input.gross, c)),
    };
    const [invoice] = await tx
      .insert(invoices)
      .values({
        id,
        companyId: user.companyId,
        vendorId: vendor.id,
        documentType: input.documentType,
        invoiceNumber: input.invoiceNumber,
        invoiceDate: input.invoiceDate,
        dueDate: input.dueDate,
        currency: c,
        ...amounts,
        buyerReference: input.buyerReference ?? null,
        orderReference: input.orderReference ?? null,
        contractReference: input.contractReference ?? null,
        confidential: input.confidential,
        sourceFormat: ubl ? 'ubl' : 'json',
        ...(ubl
          ? {
              customizationId: ubl.customizationId,
              profileId: ubl.profileId ?? null,
              lineTotal: ubl.totals.lineExtension,
              allowanceTotal: ubl.totals.allowances,
              chargeTotal: ubl.totals.charges,
              prepaid: ubl.totals.prepaid,
              rounding: ubl.totals.rounding,
              payable: ubl.totals.payable,
            }
          : {}),
        workflowId,
        manualStart: inbox,
        createdBy: user.id,
      })
      .returning();
    // In chunks: one statement has at most 65,535 parameters, and a line takes 7.
    const lines = input.lines.map((l, i) => ({ invoiceId: id, lineNo: i + 1, ...l }));
    for (let at = 0; at < lines.length; at += LINE_CHUNK) await tx.insert(invoiceLines).values(lines.slice(at, at + LINE_CHUNK));
    await tx.insert(invoiceDocuments).values({
      invoiceId: id,
      contentType: document.contentType,
      content: document.bytes,
      sha256: createHash('sha256').update(document.bytes).digest('hex'),
      size: document.bytes.length,
    });
    if (ubl && ubl.attachments.length > 0) {
      await tx.insert(invoiceAttachments).values(
        ubl.attachments.map((a, i) => ({
          invoiceId: id,
          position: i + 1,
          reference: a.id,
          description: a.description ?? null,
          filename: a.filename ?? null,
          mimeCode: a.mimeCode ?? null,
          embeddedBytes: a.embeddedBytes ?? null,
          uri: a.uri ?? null,
        })),
      );
    }
    const kind = input.documentType === 'credit_note' ? 'Credit note' : 'Invoice';
    await audit(tx, {
      companyId: user.companyId,
      invoiceId: id,
      actor: user.id,
      kind: 'intake',
      message: `${kind} ${input.invoiceNumber} from ${vendor.name} received as ${ubl ? 'UBL' : 'JSON'} (${amounts.gross} ${c})`,
    });
    if (vendorCreated) {
      await audit(tx, {
        companyId: user.companyId,
        invoiceId: id,
        actor: user.id,
        kind: 'vendor_created',
        message: `Vendor "${vendor.name}" created from the invoice's supplier party`,
        data: { vendorId: vendor.id },
      });
    }
    for (const warning of ubl?.warnings ?? []) {
      await audit(tx, { companyId: user.companyId, invoiceId: id, actor: 'system', kind: 'intake_warning', message: warning });
    }
    if (inbox) {
      await audit(tx, {
        companyId: user.companyId,
        invoiceId: id,
        actor: user.id,
        kind: 'held_in_inbox',
        message: `Held in the inbox until someone starts it${input.autoStart === false ? '' : " (the company's setting)"}`,
      });
    }
    const step =
      !inbox && firstStep ? await takeFirstStep(tx, firstStep, { id, companyId: user.companyId, workflowId }, { locked: true }) : undefined;
    const response: IntakeResponse = { id, workflowId, stage: 'new', inbox };
    if (req.idempotencyKey) {
      await tx
        .update(idempotencyKeys)
        .set({ status: 201, response: { ...response } })
        .where(and(eq(idempotencyKeys.userId, user.id), eq(idempotencyKeys.key, req.idempotencyKey)));
    }
    return { response, loaded: { invoice: { ...invoice!, prepared: step ?? null }, vendorName: vendor.name } };
  });
}

/** Lines per insert statement. */
const LINE_CHUNK = 1000;

/**
 * Takes the key for this request, or returns the stored response of the request that took it
 * first. A concurrent first request makes the insert wait until that request commits or rolls back.
 */
async function claimIdempotencyKey(tx: Tx, userId: string, key: string, requestHash: string): Promise<IntakeResponse | undefined> {
  const claimed = await tx
    .insert(idempotencyKeys)
    .values({ userId, key, requestHash, status: 0, response: {} })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (claimed.length > 0) return undefined;
  const [first] = await tx
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
  if (!first || first.requestHash !== requestHash) {
    throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was already used for a different request');
  }
  return first.response as unknown as IntakeResponse;
}

/** Same company, vendor, document type and number: invoices and credit notes are separate series. */
function duplicateOf(user: CurrentUser, vendorId: string, input: InvoiceIntakeInput) {
  return and(
    eq(invoices.companyId, user.companyId),
    eq(invoices.vendorId, vendorId),
    eq(invoices.documentType, input.documentType),
    eq(invoices.invoiceNumber, input.invoiceNumber),
  );
}

/** 409 for a duplicate, naming the existing invoice only to a caller who may see it. */
function duplicateError(
  user: CurrentUser,
  existing: { id: string; companyId: string; confidential: boolean },
  invoiceNumber: string,
): ApiError {
  return new ApiError(
    409,
    'duplicate_invoice',
    `Invoice ${invoiceNumber} from this vendor is already registered`,
    canSee(user, existing) ? [{ existingId: existing.id }] : [],
  );
}

async function findDuplicate(db: Db, user: CurrentUser, input: InvoiceIntakeInput) {
  const vendorId = 'id' in input.vendor ? input.vendor.id : (await findVendor(db, user.companyId, input.vendor))?.id;
  if (!vendorId) return undefined;
  const [row] = await db
    .select({ id: invoices.id, companyId: invoices.companyId, confidential: invoices.confidential })
    .from(invoices)
    .where(duplicateOf(user, vendorId, input));
  return row;
}

type VendorInput = InvoiceIntakeInput['vendor'];
type NewVendor = Exclude<VendorInput, { id: string }>;
type Vendor = typeof vendors.$inferSelect;

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
async function resolveVendor(tx: Tx, user: CurrentUser, v: VendorInput): Promise<{ vendor: Vendor; created: boolean }> {
  if ('id' in v) {
    const [vendor] = await tx
      .select()
      .from(vendors)
      .where(and(eq(vendors.id, v.id), eq(vendors.companyId, user.companyId)));
    if (!vendor)
      throw new ApiError(422, 'validation_failed', 'The invoice is not valid', [{ path: 'vendor.id', message: 'no such vendor' }]);
    return { vendor, created: false };
  }
  // Serialises the creation of one new vendor across concurrent intakes.
  const identity = `vendor:${user.companyId}:${v.endpointId ?? v.vatNumber ?? v.name.toLowerCase()}`;
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${identity}, 0))`);
  const known = await findVendor(tx, user.companyId, v);
  if (known) return { vendor: known, created: false };
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
  return { vendor: created!, created: true };
}

/** The company's default for intake's `autoStart`. */
async function autoStartSetting(tx: Tx, companyId: string): Promise<boolean> {
  const [row] = await tx.select({ autoStart: settings.autoStart }).from(settings).where(eq(settings.companyId, companyId));
  return row?.autoStart ?? true;
}

/**
 * Starts the workflow of an invoice held in the inbox (clerks and admins), once: the invoice
 * leaves the inbox in one transaction with its audit entry, and a second start is a 409. If
 * Temporal is away, the worker's starter starts it a few seconds later.
 */
export async function startFromInbox(deps: ServiceDeps & { log?: Logger }, user: CurrentUser, id: string): Promise<IntakeResponse> {
  if (!user.roles.some((r) => r === 'clerk' || r === 'admin')) {
    throw new ApiError(403, 'forbidden', 'Starting an invoice from the inbox needs the clerk or admin role');
  }
  const invoice = await visibleInvoice(deps.db, user, id);
  if (invoice.companyId !== user.companyId) throw ApiError.notFound('invoice');
  await deps.db.transaction(async (tx) => {
    await lockInvoice(tx, id);
    const [row] = await tx
      .update(invoices)
      .set({ manualStart: false, updatedAt: new Date() })
      .where(and(eq(invoices.id, id), eq(invoices.manualStart, true), isNull(invoices.workflowStartedAt)))
      .returning({ id: invoices.id });
    if (!row) throw new ApiError(409, 'already_started', `Invoice ${invoice.invoiceNumber} is not in the inbox: its workflow has started`);
    await audit(tx, {
      companyId: user.companyId,
      invoiceId: id,
      actor: user.id,
      kind: 'started_from_inbox',
      message: `Started from the inbox by ${user.name}`,
    });
  });
  if (!(await startInvoiceWorkflow(deps.db, deps.temporal, id, { maxHistoryEvents: deps.maxHistoryEvents, firstStep: deps.firstStep }))) {
    deps.log?.warn({ invoiceId: id }, 'invoice workflow not started yet; the worker starts it');
  }
  return { id, workflowId: invoice.workflowId, stage: 'new', inbox: false };
}

/** The invoice row, or a 404 when it does not exist or the user may not see it. */
export async function visibleInvoice(db: Db, user: CurrentUser, id: string) {
  if (!isUuid(id)) throw ApiError.notFound('invoice');
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, id));
  if (!invoice) throw ApiError.notFound('invoice');
  if (canSee(user, invoice)) return invoice;
  // A user of a partner environment sees the invoices whose tasks were delegated to them.
  const [task] = await db
    .select({ id: tasks.id })
    .from(tasks)
    .where(
      and(
        eq(tasks.invoiceId, id),
        or(sql`${tasks.assignees} @> array[${user.id}]::text[]`, sql`${tasks.actedBy} @> array[${user.id}]::text[]`),
      ),
    )
    .limit(1);
  if (!task || (invoice.confidential && !user.confidential)) throw ApiError.notFound('invoice');
  return invoice;
}

const amount = (value: string, currency: string) => format(money(value, currency));

/** The original document of a visible invoice. */
export async function invoiceDocument(db: Db, user: CurrentUser, id: string) {
  const invoice = await visibleInvoice(db, user, id);
  const [document] = await db.select().from(invoiceDocuments).where(eq(invoiceDocuments.invoiceId, id));
  if (!document) throw ApiError.notFound('document');
  const extension = document.contentType.includes('xml') ? 'xml' : 'json';
  return { ...document, filename: `${invoice.invoiceNumber.replace(/[^\w.-]+/g, '_')}.${extension}` };
}

/** Everything about one invoice, from Postgres (the system of record). */
export async function invoiceDetail(db: Db, user: CurrentUser, id: string) {
  const inv = await visibleInvoice(db, user, id);
  const [vendor] = await db.select().from(vendors).where(eq(vendors.id, inv.vendorId));
  const [lines, rows, taskRows, events, [entry], [review]] = await Promise.all([
    db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, id)).orderBy(asc(invoiceLines.lineNo)),
    db.select().from(codingRows).where(eq(codingRows.invoiceId, id)).orderBy(asc(codingRows.rowNo)),
    db.select().from(tasks).where(eq(tasks.invoiceId, id)).orderBy(asc(tasks.openedAt)),
    db.select().from(auditEvents).where(eq(auditEvents.invoiceId, id)).orderBy(asc(auditEvents.at), asc(auditEvents.id)),
    db.select().from(journalEntries).where(eq(journalEntries.invoiceId, id)),
    db.select().from(invoiceReviews).where(eq(invoiceReviews.invoiceId, id)),
  ]);
  const attachments = await db
    .select()
    .from(invoiceAttachments)
    .where(eq(invoiceAttachments.invoiceId, id))
    .orderBy(asc(invoiceAttachments.position));
  const postingLines = entry
    ? await db.select().from(journalLines).where(eq(journalLines.entryId, entry.id)).orderBy(asc(journalLines.lineNo))
    : [];
  const c = inv.currency;
  return {
    id: inv.id,
    workflowId: inv.workflowId,
    stage: inv.stage,
    /** Held in the inbox until someone starts its workflow (`POST /invoices/:id/start`). */
    inbox: inv.manualStart && inv.workflowStartedAt === null,
    /** The version `PATCH /invoices/:id/coding` expects in If-Match (also the ETag of this answer). */
    codingVersion: inv.codingVersion,
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
    source: {
      format: inv.sourceFormat,
      customizationId: inv.customizationId,
      profileId: inv.profileId,
      document: `/api/v1/invoices/${inv.id}/document`,
    },
    documentTotals:
      inv.sourceFormat === 'ubl'
        ? {
            lineExtension: amount(inv.lineTotal ?? '0', c),
            allowances: amount(inv.allowanceTotal ?? '0', c),
            charges: amount(inv.chargeTotal ?? '0', c),
            prepaid: amount(inv.prepaid ?? '0', c),
            rounding: amount(inv.rounding ?? '0', c),
            payable: amount(inv.payable ?? '0', c),
          }
        : null,
    attachments: attachments.map((a) => ({
      reference: a.reference,
      description: a.description,
      filename: a.filename,
      mimeCode: a.mimeCode,
      embeddedBytes: a.embeddedBytes,
      uri: a.uri,
    })),
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
      /** The automatic review's marks on this row (red); none means correct (green). */
      reviewMarks: review?.result.rows[r.id] ?? [],
    })),
    review: review
      ? {
          status: review.status,
          /** Marks per header field (red); a field without any is correct. */
          fields: review.result.fields,
          failed: review.result.failed,
          ruleVersions: review.result.ruleVersions,
          trigger: review.trigger,
          comment: review.comment,
          reviewedBy: review.reviewedBy,
          reviewedAt: review.reviewedAt,
        }
      : { status: 'not_reviewed' as const, fields: {}, failed: [], ruleVersions: [] },
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

/** The most invoices a bulk review takes from a filter. */
export const BULK_REVIEW_LIMIT = 5000;

/** Ids of the invoices of the user's company that a filter selects and the user may see, oldest first, not yet finished. */
export async function selectInvoices(
  db: Db,
  user: CurrentUser,
  filter: { stage?: string | undefined; vendorId?: string | undefined; review?: ReviewStatus | undefined },
  limit: number,
): Promise<string[]> {
  const filters = [eq(invoices.companyId, user.companyId), notInArray(invoices.stage, ['payment', 'posted', 'cancelled'])];
  if (!user.confidential) filters.push(eq(invoices.confidential, false));
  if (filter.stage) filters.push(sql`${invoices.stage} = ${filter.stage}`);
  if (filter.vendorId) filters.push(eq(invoices.vendorId, filter.vendorId));
  if (filter.review) filters.push(reviewIs(filter.review));
  const rows = await db
    .select({ id: invoices.id })
    .from(invoices)
    .leftJoin(invoiceReviews, eq(invoiceReviews.invoiceId, invoices.id))
    .where(and(...filters))
    .orderBy(asc(invoices.createdAt), asc(invoices.id))
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Invoices whose review has this status (no review yet counts as not reviewed). */
function reviewIs(status: ReviewStatus): SQL {
  return status === 'not_reviewed'
    ? or(isNull(invoiceReviews.status), eq(invoiceReviews.status, 'not_reviewed'))!
    : eq(invoiceReviews.status, status);
}

/**
 * PLAN_CONSTANT: the list queries' constants (relation, state, clearance) are written into the
 * text, not sent as parameters. Postgres keeps one generic plan per prepared statement, and with
 * `relation = $2 and state = $3` it guessed 37,000 rows per user and added Memoize nodes sized for
 * them: 2 ms per work-queue page instead of 0.25 ms.
 */
const NOT_CONFIDENTIAL = eq(invoices.confidential, sql`false`);

/**
 * A page size written into the query text, not sent as a parameter: with `limit $n` Postgres
 * plans every execution anew (its generic plan guesses 10 % of the rows), 0.7 ms of planning for
 * 0.3 ms of execution at 100,000 invoices; with a literal it keeps one plan per connection.
 * drizzle writes an SQL object given as the limit as it is.
 */
function literalLimit(limit: number): Placeholder {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`not a page size: ${limit}`);
  return sql.raw(String(limit)) as unknown as Placeholder;
}

/** A list page's statement: its SQL text and parameters, placeholders unfilled. */
interface PageStatement {
  text: string;
  params: unknown[];
}

/**
 * A list page's statement, built once per database and filter shape (by `shape`); null builds it
 * anew (a cursor page). `columns` are the selection's keys in the order the page reads its row
 * arrays (pageRows): a selection in another order is a programming error, refused here.
 */
const pageStatements = new WeakMap<Db, Map<string, PageStatement>>();
function pageStatement(
  db: Db,
  shape: string | null,
  columns: readonly string[],
  build: () => { _: { selectedFields: object }; toSQL(): { sql: string; params: unknown[] } },
): PageStatement {
  let byShape = pageStatements.get(db);
  let statement = shape === null ? undefined : byShape?.get(shape);
  if (!statement) {
    const query = build();
    const selected = Object.keys(query._.selectedFields);
    if (selected.join() !== columns.join()) throw new Error(`list page selects ${selected.join()}, not ${columns.join()}`);
    const { sql: text, params } = query.toSQL();
    statement = { text, params };
    if (shape !== null) {
      if (!byShape) pageStatements.set(db, (byShape = new Map()));
      byShape.set(shape, statement);
    }
  }
  return statement;
}

/**
 * A list page's rows, each an array of the selected columns in the selection's order. drizzle
 * builds the SQL; postgres.js runs it as a prepared statement (one Bind/Execute round trip per
 * page) and answers arrays, from which the page builds its items. drizzle's `execute` mapped each
 * row into an object first, cell by cell through its column decoders: about a third of the API's
 * CPU on a work-queue page went into objects built only to be copied into the answer.
 */
async function pageRows<Row extends unknown[]>(db: Db, statement: PageStatement, values: Record<string, unknown>): Promise<Row[]> {
  const rows = await postgresClientOf(db, 'list pages')
    .unsafe(statement.text, fillPlaceholders(statement.params, values) as never[], { prepare: true })
    .values();
  return rows as unknown as Row[];
}

/**
 * `amount` for the list pages, remembered: formatting through dinero was a tenth of the API's CPU
 * on a polled page, and a queue shows the same amounts poll after poll. Bounded (cleared when full).
 */
const listAmounts = new Map<string, string>();
function listAmount(value: string, currency: string): string {
  const key = `${currency} ${value}`;
  let formatted = listAmounts.get(key);
  if (formatted === undefined) {
    formatted = amount(value, currency);
    if (listAmounts.size >= 10_000) listAmounts.clear();
    listAmounts.set(key, formatted);
  }
  return formatted;
}

/**
 * The user's tasks, joined with their invoices, for the work queue (an index range scan on
 * task_users). The page is cut before the joins (a deferred join): the user's index entries are
 * filtered, ordered and limited in a subquery, and only that page's rows are joined with tasks,
 * invoices and vendors. Joined first and cut after, Postgres planned the joins for every task the
 * user ever acted on (99,000 for the bench's approver) and put Memoize nodes sized for them into
 * the plan, whose hash tables it allocated and cleared on every page: 2 to 28 ms per page instead
 * of 0.5 ms. Conditions on the invoice (clearance, queue, review) are checked per index entry by
 * a scalar subquery, which Postgres evaluates per row instead of joining.
 */
export async function workQueue(
  db: Db,
  user: CurrentUser,
  q: {
    queue: 'personal' | 'credit-memo' | 'past-due';
    state: 'open' | 'done';
    review?: ReviewStatus | undefined;
    limit: number;
    cursor?: string | undefined;
  },
  today: string,
) {
  const position = decodeCursor(q.cursor);
  // The user's values are placeholders, so a first page's statement is built once per filter shape
  // (pageStatement); the constants are written into the text (see PLAN_CONSTANT).
  const build = () => {
    // Open: tasks waiting for me. Done: tasks I acted on.
    const entry = [
      eq(taskUsers.userId, sql.placeholder('userId')),
      q.state === 'open'
        ? and(eq(taskUsers.relation, sql`'assignee'`), eq(taskUsers.state, sql`'open'`))
        : eq(taskUsers.relation, sql`'actor'`),
    ];
    if (position) entry.push(after(taskUsers.openedAt, taskUsers.taskId, position, 'timestamptz', 'text'));
    const onInvoice: SQL[] = [];
    if (!user.confidential) onInvoice.push(NOT_CONFIDENTIAL);
    if (q.queue === 'credit-memo') onInvoice.push(eq(invoices.documentType, sql`'credit_note'`));
    if (q.queue === 'past-due') onInvoice.push(lt(invoices.dueDate, sql.placeholder('today')));
    if (q.review) onInvoice.push(reviewIs(q.review));
    if (onInvoice.length > 0) {
      // Inside the subquery, "invoices" and "invoice_reviews" are its own; "task_users" is the entry's.
      const invoice = db.select({ ok: sql<boolean>`${and(...onInvoice)}` }).from(invoices);
      const check = (q.review ? invoice.leftJoin(invoiceReviews, eq(invoiceReviews.invoiceId, invoices.id)) : invoice).where(
        eq(invoices.id, taskUsers.invoiceId),
      );
      entry.push(sql`(${check})`);
    }
    const page = db
      .select({ taskId: taskUsers.taskId, invoiceId: taskUsers.invoiceId, openedAt: taskUsers.openedAt })
      .from(taskUsers)
      .where(and(...entry))
      .orderBy(asc(taskUsers.openedAt), asc(taskUsers.taskId))
      .limit(literalLimit(q.limit + 1))
      .as('page');
    // Only the columns the page shows, in the order of WorkQueueRow: mapping whole task and invoice
    // rows (about 50 columns) cost more than the query itself.
    return db
      .select({
        invoiceId: invoices.id,
        taskId: tasks.id,
        stage: invoices.stage,
        taskStage: tasks.stage,
        state: tasks.state,
        vendorId: invoices.vendorId,
        vendorName: vendors.name,
        invoiceNumber: invoices.invoiceNumber,
        gross: invoices.gross,
        currency: invoices.currency,
        dueDate: invoices.dueDate,
        documentType: invoices.documentType,
        review: invoiceReviews.status,
        shared: sql<boolean>`cardinality(${tasks.assignees}) > 1`,
        openedAt: sql<string>`${page.openedAt}::text`,
      })
      .from(page)
      .innerJoin(tasks, eq(tasks.id, page.taskId))
      .innerJoin(invoices, eq(invoices.id, page.invoiceId))
      .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
      .leftJoin(invoiceReviews, eq(invoiceReviews.invoiceId, invoices.id))
      .orderBy(asc(page.openedAt), asc(page.taskId));
  };
  const shape = position ? null : `workQueue:${q.limit}:${q.state}:${user.confidential}:${q.queue}:${q.review ?? ''}`;
  const rows = await pageRows<WorkQueueRow>(db, pageStatement(db, shape, WORK_QUEUE_COLUMNS, build), { userId: user.id, today });
  // The cursor keeps Postgres' own text of the time, microseconds included.
  const page = pageOf(rows, q.limit, (r) => [r[14], r[1]]);
  return {
    items: page.items.map(
      ([
        invoiceId,
        taskId,
        stage,
        taskStage,
        state,
        vendorId,
        vendorName,
        invoiceNumber,
        gross,
        currency,
        dueDate,
        documentType,
        review,
        shared,
      ]) => ({
        invoiceId,
        taskId,
        stage,
        taskStage,
        state,
        vendor: { id: vendorId, name: vendorName },
        invoiceNumber,
        gross: listAmount(gross, currency),
        currency,
        dueDate,
        documentType,
        review: review ?? 'not_reviewed',
        /** The task has other assignees too: the user may leave it to them (not mine). */
        shared,
      }),
    ),
    nextCursor: page.nextCursor,
  };
}

/** A work-queue row as the page's query selects it (pageRows), and its columns' names in that order. */
const WORK_QUEUE_COLUMNS = [
  'invoiceId',
  'taskId',
  'stage',
  'taskStage',
  'state',
  'vendorId',
  'vendorName',
  'invoiceNumber',
  'gross',
  'currency',
  'dueDate',
  'documentType',
  'review',
  'shared',
  'openedAt',
] as const;
type WorkQueueRow = [
  invoiceId: string,
  taskId: string,
  stage: (typeof invoices.$inferSelect)['stage'],
  taskStage: (typeof tasks.$inferSelect)['stage'],
  state: (typeof tasks.$inferSelect)['state'],
  vendorId: string,
  vendorName: string,
  invoiceNumber: string,
  gross: string,
  currency: string,
  dueDate: string,
  documentType: (typeof invoices.$inferSelect)['documentType'],
  review: ReviewStatus | null,
  shared: boolean,
  openedAt: string,
];

/** Invoices of the user's company, newest first. */
export async function listInvoices(
  db: Db,
  user: CurrentUser,
  q: {
    stage?: string | undefined;
    vendorId?: string | undefined;
    review?: ReviewStatus | undefined;
    /** Only the invoices held in the inbox (`GET /inbox`). */
    inbox?: boolean;
    limit: number;
    cursor?: string | undefined;
  },
) {
  const position = decodeCursor(q.cursor);
  // Only the columns the list shows, in the order of InvoiceListRow, with placeholders for the values (see workQueue).
  const build = () => {
    const filters = [eq(invoices.companyId, sql.placeholder('companyId'))];
    if (q.inbox) filters.push(eq(invoices.manualStart, sql`true`), isNull(invoices.workflowStartedAt));
    if (!user.confidential) filters.push(NOT_CONFIDENTIAL);
    if (q.stage) filters.push(sql`${invoices.stage} = ${sql.placeholder('stage')}`);
    if (q.vendorId) filters.push(eq(invoices.vendorId, sql.placeholder('vendorId')));
    if (q.review) filters.push(reviewIs(q.review));
    if (position) filters.push(before(invoices.createdAt, invoices.id, position, 'timestamptz'));
    return db
      .select({
        id: invoices.id,
        stage: invoices.stage,
        vendorId: invoices.vendorId,
        vendorName: vendors.name,
        documentType: invoices.documentType,
        invoiceNumber: invoices.invoiceNumber,
        invoiceDate: invoices.invoiceDate,
        dueDate: invoices.dueDate,
        currency: invoices.currency,
        gross: invoices.gross,
        review: invoiceReviews.status,
        inbox: sql<boolean>`(${invoices.manualStart} and ${invoices.workflowStartedAt} is null)`,
        createdAt: sql<string>`${invoices.createdAt}::text`,
      })
      .from(invoices)
      .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
      .leftJoin(invoiceReviews, eq(invoiceReviews.invoiceId, invoices.id))
      .where(and(...filters))
      .orderBy(desc(invoices.createdAt), desc(invoices.id))
      .limit(literalLimit(q.limit + 1));
  };
  const shape = position
    ? null
    : `invoices:${q.limit}:${q.inbox === true}:${user.confidential}:${!!q.stage}:${!!q.vendorId}:${q.review ?? ''}`;
  const rows = await pageRows<InvoiceListRow>(db, pageStatement(db, shape, INVOICE_LIST_COLUMNS, build), {
    companyId: user.companyId,
    stage: q.stage,
    vendorId: q.vendorId,
  });
  const page = pageOf(rows, q.limit, (r) => [r[12], r[0]]);
  return {
    items: page.items.map(
      ([id, stage, vendorId, vendorName, documentType, invoiceNumber, invoiceDate, dueDate, currency, gross, review, inbox]) => ({
        id,
        stage,
        vendor: { id: vendorId, name: vendorName },
        documentType,
        invoiceNumber,
        invoiceDate,
        dueDate,
        currency,
        gross: listAmount(gross, currency),
        review: review ?? 'not_reviewed',
        inbox,
      }),
    ),
    nextCursor: page.nextCursor,
  };
}

/** An invoice-list row as the page's query selects it (pageRows), and its columns' names in that order. */
const INVOICE_LIST_COLUMNS = [
  'id',
  'stage',
  'vendorId',
  'vendorName',
  'documentType',
  'invoiceNumber',
  'invoiceDate',
  'dueDate',
  'currency',
  'gross',
  'review',
  'inbox',
  'createdAt',
] as const;
type InvoiceListRow = [
  id: string,
  stage: (typeof invoices.$inferSelect)['stage'],
  vendorId: string,
  vendorName: string,
  documentType: (typeof invoices.$inferSelect)['documentType'],
  invoiceNumber: string,
  invoiceDate: string,
  dueDate: string,
  currency: string,
  gross: string,
  review: ReviewStatus | null,
  inbox: boolean,
  createdAt: string,
];

// ---- Actions ----

const UPDATES = {
  approve: approveUpdate,
  reject: rejectUpdate,
  delegate: delegateUpdate,
  notMine: notMineUpdate,
  exceptionsReview: exceptionsReviewUpdate,
  resolveException: resolveExceptionUpdate,
  restart: restartUpdate,
  reassign: reassignUpdate,
  refresh: refreshUpdate,
  codingChanged: codingChangedUpdate,
  reviewAgain: reviewAgainUpdate,
  overrideReview: overrideReviewUpdate,
} as const;

/**
 * Replaces an invoice's coding rows through its workflow (`codingChanged`), against the version
 * the editor saw. The sums are checked here first, so the caller gets every problem at once.
 */
export async function changeCoding(
  deps: ServiceDeps,
  user: CurrentUser,
  invoiceId: string,
  body: { version: number; rows: CodingRowPayload[]; comment?: string | undefined },
): Promise<ActionResult> {
  const invoice = await visibleInvoice(deps.db, user, invoiceId);
  const problems = codingSumProblems(body.rows, invoice);
  if (problems.length > 0) throw new ApiError(422, 'coding_invalid', 'The coding rows do not add up', problems);
  if (invoice.codingVersion !== body.version) {
    throw new ApiError(
      412,
      'stale_version',
      `The coding was changed meanwhile (version ${invoice.codingVersion}); reload it and edit again`,
    );
  }
  return performAction(deps, user, invoiceId, 'codingChanged', body);
}

/**
 * Sends an action to the invoice's workflow as an Update, as the authenticated user (`by` is
 * always the caller; a body cannot act for someone else).
 */
export async function performAction(
  { db, temporal }: ServiceDeps,
  user: CurrentUser,
  invoiceId: string,
  action: ActionName,
  payload: Record<string, unknown>,
  updateId?: string,
): Promise<ActionResult> {
  const invoice = await visibleInvoice(db, user, invoiceId);
  const handle = temporal.workflow.getHandle(invoice.workflowId);
  const update = UPDATES[action] as unknown as UpdateDefinition<ActionResult, [Record<string, unknown>]>;
  const asked = Date.now();
  try {
    // Temporal keeps an Update's outcome under its id. A "not ready" (nothing changed; a lookup
    // failed for now) kept from an earlier try of this Idempotency-Key would answer every retry
    // the same: such an old refusal is passed over for the next id of the key, a few times.
    for (let retry = 0; ; retry += 1) {
      const id = updateId && retry > 0 ? `${updateId}~retry${retry}` : updateId;
      const sent = Date.now();
      try {
        return await handle.executeUpdate(update, { args: [{ ...payload, by: user.id }], ...(id ? { updateId: id } : {}) });
      } catch (err) {
        const refusal = refusalOf(err);
        // Kept: refused before this request came, and answered at once (a fresh refusal runs its lookups first).
        const kept =
          refusal?.code === 'not_ready' && refusal.at !== undefined && Date.parse(refusal.at) < asked - 250 && Date.now() - sent < 1000;
        if (!updateId || !kept || retry >= MAX_NOT_READY_RETRIES) throw err;
      }
    }
  } catch (err) {
    if (err instanceof WorkflowNotFoundError && invoice.workflowStartedAt === null && !invoice.manualStart) {
      // Committed while Temporal was away: the worker's starter starts its workflow within seconds.
      const error = new ApiError(503, 'not_started', 'The invoice is not under way yet; nothing changed, try again shortly');
      error.headers = { 'Retry-After': '2' };
      throw error;
    }
    throw actionError(err, invoice.stage);
  }
}

const REFUSAL_STATUS: Partial<Record<Refusal['code'], number>> = {
  not_assignee: 403,
  not_admin: 403,
  invalid_payload: 422,
  unknown_user: 422,
  not_ready: 503,
  stale_version: 412,
  coding_invalid: 422,
};

/** How many kept "not ready" outcomes of one Idempotency-Key are passed over before answering 503 again. */
const MAX_NOT_READY_RETRIES = 50;

/** The workflow's refusal inside a failed Update, if that is what the error is. */
function refusalOf(err: unknown): Refusal | undefined {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ACTION_REFUSED) {
    return (err.cause.details?.[0] ?? { code: 'wrong_stage', message: err.cause.message }) as Refusal;
  }
  return undefined;
}

function actionError(err: unknown, stage: string): unknown {
  const refusal = refusalOf(err);
  if (refusal) {
    const error = new ApiError(REFUSAL_STATUS[refusal.code] ?? 409, refusal.code, refusal.message);
    if (refusal.code === 'not_ready') error.headers = { 'Retry-After': '5' };
    return error;
  }
  if (err instanceof WorkflowNotFoundError || (err instanceof Error && /workflow execution already completed/i.test(err.message))) {
    return new ApiError(409, 'finished', `The invoice is ${stage}; its workflow takes no more actions`);
  }
  return err;
}
