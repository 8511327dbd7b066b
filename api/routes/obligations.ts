/**
 * Obligations (purchase orders, SPEC 2.3): an invoice whose order reference names one is checked
 * against it by the automatic review. The invoiced total is kept by the system (each invoice
 * counted once, given back when it is rejected or cancelled); an obligation that invoices have
 * counted against is deactivated rather than deleted.
 */
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db } from '../../db/client';
import { obligationMatches, obligations, vendors } from '../../db/schema';
import { format, isCurrency, money, MoneyError } from '../../domain/money';
import { currentUser, isUuid, requireAdmin, type CurrentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import {
  atVersion,
  checkVersion,
  etag,
  expectedVersion,
  IfMatchHeader,
  nextVersion,
  notWritten,
  staleResponse,
  versionedJson,
} from '../etag';
import { idParam, type ApiDocs } from '../openapi';
import { booleanFilter, decodeCursor, pageOf, pageParams } from '../paging';

const Amount = z.string().regex(/^\d{1,15}(\.\d{1,6})?$/, 'must be a non-negative number such as "1000.00"');
const Percent = z.string().regex(/^\d{1,3}(\.\d{1,4})?$/, 'must be a percentage such as "5"');

export const ObligationBody = z.strictObject({
  vendorId: z.uuid(),
  orderNumber: z.string().trim().min(1).max(100),
  amount: Amount,
  currency: z.string().refine(isCurrency, 'must be an ISO 4217 currency code such as "EUR"'),
  tolerancePercent: Percent.nullable().optional(),
  toleranceAmount: Amount.nullable().optional(),
});
const ObligationPatch = z.strictObject({
  amount: Amount.optional(),
  tolerancePercent: Percent.nullable().optional(),
  toleranceAmount: Amount.nullable().optional(),
  active: z.boolean().optional(),
});
const ObligationQuery = z.strictObject({
  vendorId: z.uuid().optional(),
  orderNumber: z.string().max(100).optional(),
  active: booleanFilter('Only active (true) or deactivated (false) obligations'),
  ...pageParams,
});
const ObligationView = z.object({
  id: z.uuid(),
  vendorId: z.uuid(),
  orderNumber: z.string(),
  amount: z.string(),
  currency: z.string(),
  tolerancePercent: z.string().nullable(),
  toleranceAmount: z.string().nullable(),
  invoicedTotal: z.string(),
  active: z.boolean(),
  version: z.number().int(),
});

type Obligation = typeof obligations.$inferSelect;

function view(o: Obligation) {
  const c = o.currency;
  return {
    id: o.id,
    vendorId: o.vendorId,
    orderNumber: o.orderNumber,
    amount: format(money(o.amount, c)),
    currency: c,
    tolerancePercent: o.tolerancePercent,
    toleranceAmount: o.toleranceAmount === null ? null : format(money(o.toleranceAmount, c)),
    invoicedTotal: format(money(o.invoicedTotal, c)),
    active: o.active,
    version: o.version,
  };
}

/** Amounts must fit the currency: 422 naming the field otherwise. */
function amountsFit(currency: string, fields: Record<string, string | null | undefined>): void {
  const details: { path: string; message: string }[] = [];
  for (const [path, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    try {
      money(value, currency);
    } catch (e) {
      if (!(e instanceof MoneyError)) throw e;
      details.push({ path, message: e.message });
    }
  }
  if (details.length > 0) throw new ApiError(422, 'validation_failed', 'The obligation is not valid', details);
}

async function owned(db: Db, user: CurrentUser, id: string): Promise<Obligation> {
  if (!isUuid(id)) throw ApiError.notFound('obligation');
  const [row] = await db
    .select()
    .from(obligations)
    .where(and(eq(obligations.id, id), eq(obligations.companyId, user.companyId)));
  if (!row) throw ApiError.notFound('obligation');
  return row;
}

export function obligationsRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/obligations', async (req, res) => {
    const user = currentUser(res);
    const q = parseOr422(ObligationQuery, req.query, 'query');
    const position = decodeCursor(q.cursor);
    const filters = [eq(obligations.companyId, user.companyId)];
    if (q.vendorId) filters.push(eq(obligations.vendorId, q.vendorId));
    if (q.orderNumber) filters.push(eq(obligations.orderNumber, q.orderNumber));
    if (q.active) filters.push(eq(obligations.active, q.active === 'true'));
    if (position) {
      if (!isUuid(position[1])) throw new ApiError(400, 'bad_cursor', 'The cursor is not one this API returned');
      filters.push(gt(obligations.id, position[1]));
    }
    const rows = await db
      .select()
      .from(obligations)
      .where(and(...filters))
      .orderBy(asc(obligations.id))
      .limit(q.limit + 1);
    const page = pageOf(rows, q.limit, (o) => [o.id, o.id]);
    res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
  });

  router.get('/obligations/:id', async (req, res) => {
    const o = await owned(db, currentUser(res), req.params.id);
    res.set('ETag', etag(o.version)).json(view(o));
  });

  router.post('/obligations', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(ObligationBody, req.body, 'obligation');
    amountsFit(body.currency, { amount: body.amount, toleranceAmount: body.toleranceAmount });
    const [vendor] = await db
      .select({ id: vendors.id })
      .from(vendors)
      .where(and(eq(vendors.id, body.vendorId), eq(vendors.companyId, user.companyId)));
    if (!vendor)
      throw new ApiError(422, 'validation_failed', 'The obligation is not valid', [{ path: 'vendorId', message: 'no such vendor' }]);
    const [created] = await db
      .insert(obligations)
      .values({
        companyId: user.companyId,
        vendorId: body.vendorId,
        orderNumber: body.orderNumber,
        amount: body.amount,
        currency: body.currency,
        tolerancePercent: body.tolerancePercent ?? null,
        toleranceAmount: body.toleranceAmount ?? null,
      })
      .onConflictDoNothing()
      .returning();
    if (!created) throw new ApiError(409, 'order_number_taken', `The vendor already has an obligation ${body.orderNumber}`);
    await audit(db, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'obligation_created',
      message: `Obligation ${body.orderNumber} of ${body.amount} ${body.currency} created`,
      data: { obligationId: created.id },
    });
    res.status(201).location(`/api/v1/obligations/${created.id}`).set('ETag', etag(created.version)).json(view(created));
  });

  router.patch('/obligations/:id', async (req, res) => {
    const user = requireAdmin(res);
    const expected = expectedVersion(req);
    const o = await owned(db, user, req.params.id);
    checkVersion(expected, o.version);
    const body = parseOr422(ObligationPatch, req.body, 'obligation');
    amountsFit(o.currency, { amount: body.amount, toleranceAmount: body.toleranceAmount });
    const where = and(eq(obligations.id, o.id), atVersion(obligations.version, expected));
    const [updated] = await db
      .update(obligations)
      .set({ ...body, version: nextVersion(obligations.version) })
      .where(where)
      .returning();
    if (!updated) throw await notWritten(db, obligations, eq(obligations.id, o.id), 'obligation');
    await audit(db, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'obligation_changed',
      message: `Obligation ${o.orderNumber} changed`,
      data: { obligationId: o.id, change: body },
    });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  router.delete('/obligations/:id', async (req, res) => {
    const user = requireAdmin(res);
    const expected = expectedVersion(req);
    const o = await owned(db, user, req.params.id);
    checkVersion(expected, o.version);
    const [{ n }] = (await db
      .select({ n: sql<number>`count(*)::int` })
      .from(obligationMatches)
      .where(eq(obligationMatches.obligationId, o.id))) as [{ n: number }];
    if (n > 0)
      throw new ApiError(
        409,
        'in_use',
        `${n} invoices were checked against obligation ${o.orderNumber}; deactivate it instead (PATCH {"active": false})`,
      );
    const [deleted] = await db
      .delete(obligations)
      .where(and(eq(obligations.id, o.id), atVersion(obligations.version, expected)))
      .returning({ id: obligations.id });
    if (!deleted) throw await notWritten(db, obligations, eq(obligations.id, o.id), 'obligation');
    await audit(db, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'obligation_deleted',
      message: `Obligation ${o.orderNumber} deleted`,
    });
    res.status(204).end();
  });

  return router;
}

export const obligationsDocs: ApiDocs = (d) => {
  const tag = 'Obligations';
  d.path(tag, 'get', '/obligations', {
    summary: 'Obligations (purchase orders) of the company',
    request: { query: ObligationQuery },
    responses: { 200: d.page(ObligationView), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'get', '/obligations/:id', {
    summary: 'One obligation, with its invoiced total',
    request: { params: idParam },
    responses: { 200: versionedJson(d, ObligationView, 'The obligation'), ...d.common, 404: d.error('Unknown or not visible') },
  });
  d.path(tag, 'post', '/obligations', {
    summary: 'Create an obligation (admins)',
    request: { body: d.body(ObligationBody) },
    responses: {
      201: versionedJson(d, ObligationView, 'Created'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('The vendor has that order number already'),
      422: d.error('Invalid body'),
    },
  });
  d.path(tag, 'patch', '/obligations/:id', {
    summary: 'Change amount, tolerances or active (admins)',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(ObligationPatch) },
    responses: {
      200: versionedJson(d, ObligationView, 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or not visible'),
      412: staleResponse(d),
      422: d.error('Invalid body'),
    },
  });
  d.path(tag, 'delete', '/obligations/:id', {
    summary: 'Delete an obligation no invoice was checked against (admins)',
    request: { params: idParam, headers: IfMatchHeader },
    responses: {
      204: { description: 'Deleted' },
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or not visible'),
      409: d.error('Invoices were checked against it: deactivate it instead'),
      412: staleResponse(d),
    },
  });
};
