/**
 * Sales invoices and their mass posting (SPEC 2.5). Everyone of the company reads them; clerks and
 * admins create them, load serial numbers, review customer items, preview and post (the server
 * decides per object: another company's invoice is 404, a reviewer's post 403).
 */
import { eq } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import { salesSettings } from '../../db/schema';
import { companySalesSettings } from '../../activities/sales-posting';
import { currentUser, requireAdmin } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import { checkVersion, etag, expectedVersion, IfMatchHeader, staleResponse, versionedJson } from '../etag';
import { idParam, type ApiDocs } from '../openapi';
import {
  cancelPosting,
  confirmPosting,
  PostAndPayBody,
  PostBody,
  postAndPay,
  postingStatus,
  PreviewBody,
  previewPosting,
  streamProgress,
  wantsNdjson,
  type SalesDeps,
} from '../sales-posting-service';
import {
  createSalesInvoice,
  listSalesInvoices,
  ReviewItemBody,
  reviewCustomerItem,
  SalesInvoiceBody,
  salesInvoiceDetail,
  SalesListQuery,
  SerialNumbersBody,
  setSerialNumbers,
  summary,
} from '../sales-service';
import { salesInvoiceFromUbl } from '../sales-ubl';
import { line } from '../schemas';
import { requireSalesClerk } from './customers';

const LineParams = z.object({ id: z.string(), lineNo: z.string() });

function lineNoOf(raw: string): number {
  if (!/^\d{1,6}$/.test(raw)) throw ApiError.notFound('invoice line');
  return Number.parseInt(raw, 10);
}

export const SalesSettingsBody = z.strictObject({
  requireCustomerItemReview: z
    .boolean()
    .optional()
    .openapi({ description: 'Require user confirmation of customer item details before posting invoice' }),
  revenueAccount: line(20).optional(),
  taxAccount: line(20).optional(),
  cashAccount: line(20).optional(),
  bankAccount: line(20).optional(),
});

export function salesInvoicesRouter(deps: SalesDeps): Router {
  const router = Router();
  const { db } = deps;

  router.get('/sales-invoices', async (req, res) => {
    res.json(await listSalesInvoices(db, currentUser(res), req.query));
  });

  router.post('/sales-invoices', async (req, res) => {
    const user = requireSalesClerk(res);
    let body: unknown = req.body;
    if (req.is(['application/xml', 'text/xml'])) body = await salesInvoiceFromUbl(db, user, req.body as Buffer);
    const created = await createSalesInvoice(db, user, body, deps.clock());
    res.status(201).location(`/api/v1/sales-invoices/${created.id}`).set('ETag', etag(created.version)).json(summary(created));
  });

  router.post('/sales-invoices/post-preview', async (req, res) => {
    const user = requireSalesClerk(res);
    res.json(await previewPosting(deps, user, req.body));
  });

  router.post('/sales-invoices/post', async (req, res) => {
    const user = requireSalesClerk(res);
    const started = await confirmPosting(deps, user, req.body);
    res.location(`/api/v1/sales-postings/${started.postingId}`);
    if (wantsNdjson(req)) {
      await streamProgress(deps, user, started.postingId, res, started);
      return;
    }
    res.status(202).json(started);
  });

  router.get('/sales-invoices/:id', async (req, res) => {
    const detail = await salesInvoiceDetail(db, currentUser(res), req.params.id);
    res.set('ETag', etag(detail.version)).json(detail);
  });

  router.put('/sales-invoices/:id/lines/:lineNo/serial-numbers', async (req, res) => {
    const user = requireSalesClerk(res);
    const updated = await setSerialNumbers(db, user, req.params.id, lineNoOf(req.params.lineNo), req.body, expectedVersion(req));
    res.set('ETag', etag(updated.version)).json(await salesInvoiceDetail(db, user, updated.id));
  });

  router.post('/sales-invoices/:id/lines/:lineNo/customer-item/review', async (req, res) => {
    const user = requireSalesClerk(res);
    const updated = await reviewCustomerItem(
      db,
      user,
      req.params.id,
      lineNoOf(req.params.lineNo),
      req.body,
      expectedVersion(req),
      deps.clock(),
    );
    res.set('ETag', etag(updated.version)).json(await salesInvoiceDetail(db, user, updated.id));
  });

  router.post('/sales-invoices/:id/post-and-pay', async (req, res) => {
    const user = requireSalesClerk(res);
    res.json(await postAndPay(deps, user, req.params.id, req.body));
  });

  router.get('/sales-postings/:id', async (req, res) => {
    const user = currentUser(res);
    if (wantsNdjson(req)) {
      await postingStatus(deps, user, req.params.id); // 404 before the stream starts
      await streamProgress(deps, user, req.params.id, res);
      return;
    }
    res.json(await postingStatus(deps, user, req.params.id));
  });

  router.post('/sales-postings/:id/cancel', async (req, res) => {
    const user = requireSalesClerk(res);
    res.json(await cancelPosting(deps, user, req.params.id));
  });

  router.get('/sales-settings', async (_req, res) => {
    const user = currentUser(res);
    const [row] = await db.select().from(salesSettings).where(eq(salesSettings.companyId, user.companyId));
    const config = await companySalesSettings(db, user.companyId);
    const { receivableAccount: _r, ...view } = config;
    res.set('ETag', etag(row?.version ?? 0)).json({ ...view, version: row?.version ?? 0 });
  });

  router.patch('/sales-settings', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(SalesSettingsBody, req.body, 'sales settings');
    const updated = await db.transaction(async (tx) => {
      const [row] = await tx.select().from(salesSettings).where(eq(salesSettings.companyId, user.companyId)).for('update');
      checkVersion(expectedVersion(req), row?.version ?? 0);
      const [next] = row
        ? await tx
            .update(salesSettings)
            .set({ ...body, version: row.version + 1 })
            .where(eq(salesSettings.companyId, user.companyId))
            .returning()
        : await tx
            .insert(salesSettings)
            .values({ companyId: user.companyId, ...body })
            .returning();
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'sales_settings_changed',
        message: 'Sales settings changed',
        data: body,
      });
      return next!;
    });
    const { companyId: _c, ...view } = updated;
    res.set('ETag', etag(updated.version)).json(view);
  });

  return router;
}

const Blocker = z.object({
  code: z.enum(['customer_item_not_reviewed', 'cash_sales_only', 'serial_number_missing', 'already_posted', 'being_posted']),
  lineNo: z.number().int().optional(),
  message: z.string().openapi({ description: "In a clerk's words" }),
});

const Progress = z.object({
  id: z.string(),
  mode: z.string(),
  state: z.enum(['running', 'completed', 'cancelled']),
  total: z.number().int(),
  processed: z.number().int(),
  posted: z.number().int(),
  customerItems: z.number().int(),
  refused: z.array(z.object({ id: z.uuid(), reasons: z.array(z.string()) })),
});

/** The sales routes in the OpenAPI document. */
export const salesInvoicesDocs: ApiDocs = (d) => {
  const tag = 'Sales invoices';
  d.path(tag, 'get', '/sales-invoices', {
    summary: 'Sales invoices by invoice date; filter by state (unposted, posted), customer, date range and gross',
    request: { query: SalesListQuery },
    responses: { 200: d.page(), 400: d.error('Bad cursor'), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'post', '/sales-invoices', {
    summary:
      "Create a sales invoice (clerks and admins): lines with product, quantity, price and tax; serial numbers; customer items. Or UBL 2.1 (application/xml) with your company as the seller: the buyer is matched to a customer (VAT number, endpoint id, name), each line to a product by the seller's item id (SKU), serial numbers from cac:ItemInstance/cbc:SerialID",
    request: {
      body: { content: { 'application/json': { schema: SalesInvoiceBody }, 'application/xml': { schema: z.string() } } },
    },
    responses: {
      201: versionedJson(d, z.object({ id: z.uuid() }).passthrough(), 'Created (Location: its URL)'),
      ...d.common,
      403: d.error('Neither clerk nor admin'),
      409: d.error('duplicate_invoice: the number is used'),
      422: d.error(
        'Invalid invoice, unknown customer or product, totals that do not add up; for UBL also not_the_seller (a purchase invoice) and unsupported_document (a credit note)',
      ),
    },
  });
  d.path(tag, 'get', '/sales-invoices/:id', {
    summary: 'One sales invoice: lines, serial numbers, customer items, blockers, and the journal once posted',
    request: { params: idParam },
    responses: {
      200: versionedJson(d, z.object({}).passthrough(), 'The invoice'),
      ...d.common,
      404: d.error('Unknown or of another company'),
    },
  });
  d.path(tag, 'put', '/sales-invoices/:id/lines/:lineNo/serial-numbers', {
    summary: "Load a line's serial numbers (one per unit); If-Match with the invoice's ETag",
    request: { params: LineParams, headers: IfMatchHeader, body: d.body(SerialNumbersBody) },
    responses: {
      200: versionedJson(d, z.object({}).passthrough(), 'The invoice'),
      ...d.common,
      404: d.error('Unknown invoice or line'),
      409: d.error('invoice_locked: posted, or held by a posting run'),
      412: staleResponse(d),
      422: d.error('More serial numbers than units, duplicates, or a product without serial numbers'),
    },
  });
  d.path(tag, 'post', '/sales-invoices/:id/lines/:lineNo/customer-item/review', {
    summary: "Confirm a line's customer item details (optionally a corrected description)",
    request: { params: LineParams, headers: IfMatchHeader, body: d.body(ReviewItemBody) },
    responses: {
      200: versionedJson(d, z.object({}).passthrough(), 'The invoice'),
      ...d.common,
      404: d.error('Unknown invoice, or the line has no customer item'),
      409: d.error('invoice_locked'),
      412: staleResponse(d),
    },
  });
  d.path(tag, 'post', '/sales-invoices/post-preview', {
    summary:
      'Preview a mass posting of {ids} or {filter}: per invoice whether it can be posted and every blocker; customer items to create; a token',
    request: { body: d.body(PreviewBody) },
    responses: {
      200: d.json(
        z.object({
          previewToken: z.uuid(),
          summary: z.object({ selected: z.number(), postable: z.number(), blocked: z.number(), customerItemsToCreate: z.number() }),
          invoices: z.array(
            z.object({ id: z.uuid(), postable: z.boolean(), blockers: z.array(Blocker), customerItems: z.number() }).passthrough(),
          ),
        }),
        'The preview',
      ),
      ...d.common,
      403: d.error('Neither clerk nor admin'),
      422: d.error('Unknown invoices, nothing selected, or more than 10,000'),
    },
  });
  d.path(tag, 'post', '/sales-invoices/post', {
    summary:
      'Confirm a preview: post all-or-nothing or the postable only, as a durable run (202; Location: its progress; NDJSON progress with Accept: application/x-ndjson). The same token twice is the same run',
    request: { body: d.body(PostBody) },
    responses: {
      202: d.json(
        z.object({ postingId: z.string(), total: z.number(), refused: z.array(z.object({}).passthrough()) }).passthrough(),
        'Started',
      ),
      ...d.common,
      403: d.error('Neither clerk nor admin'),
      404: d.error('No such preview of yours'),
      409: d.error('changed_since_preview: preview again (details: which invoices changed and how)'),
      422: d.error('not_all_postable (all-or-nothing, with the reasons), nothing_to_post, or confirm is not true'),
      503: d.error('Confirmed but not started (Temporal away): send it again'),
    },
  });
  d.path(tag, 'post', '/sales-invoices/:id/post-and-pay', {
    summary: 'Post a cash-sales-only invoice together with its payment, in one balanced journal',
    request: { params: idParam, body: d.body(PostAndPayBody) },
    responses: {
      200: d.json(z.object({ id: z.uuid(), state: z.literal('posted'), journalEntryId: z.uuid() }).passthrough(), 'Posted and paid'),
      ...d.common,
      403: d.error('Neither clerk nor admin'),
      404: d.error('Unknown or of another company'),
      409: d.error('not_postable: already posted, held by a run, unreviewed customer item or missing serial numbers'),
      422: d.error('payment_mismatch (the payment must equal the gross), or not_cash_sale'),
    },
  });
  d.path(tag, 'get', '/sales-postings/:id', {
    summary: 'A posting run: progress while it runs, the outcome after (NDJSON until done with Accept: application/x-ndjson)',
    request: { params: idParam },
    responses: { 200: d.json(Progress, 'The run'), ...d.common, 404: d.error('Unknown or of another company') },
  });
  d.path(tag, 'post', '/sales-postings/:id/cancel', {
    summary: 'Cancel a run between chunks: what it posted stays posted, the rest is released',
    request: { params: idParam },
    responses: { 200: d.json(Progress, 'Cancelling'), ...d.common, 404: d.error('Unknown'), 409: d.error('Already finished') },
  });
  d.path(tag, 'get', '/sales-settings', {
    summary: 'Sales settings: customer item review before posting, revenue, tax, cash and bank accounts',
    responses: { 200: versionedJson(d, z.object({}).passthrough(), 'The settings'), ...d.common },
  });
  d.path(tag, 'patch', '/sales-settings', {
    summary: 'Change the sales settings (admins); If-Match',
    request: { headers: IfMatchHeader, body: d.body(SalesSettingsBody) },
    responses: {
      200: versionedJson(d, z.object({}).passthrough(), 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      412: staleResponse(d),
    },
  });
};
