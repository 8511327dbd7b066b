import { and, asc, count, eq, sql, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities';
import type { Db, Tx } from '../../db/client';
import { loadUser } from '../../activities/directory';
import { agreementMatches, agreements, codingTemplates, flowTemplates, vendors } from '../../db/schema';
import { compareDecimal } from '../../domain/money';
import type { DirectoryUser } from '../../domain/routing/assign';
import { currentUser, findOwned, requireAdmin, type CurrentUser } from '../auth';
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
import { after, booleanFilter, decodeCursor, pageOf, pageParams } from '../paging';
import { AgreementBody as AgreementFields } from '../schemas';

/** An agreement as created or replaced; `active` and `version` may come along (a definition read back can be sent again). */
export const AgreementBody = AgreementFields.safeExtend({
  active: z.boolean().optional().openapi({ description: 'false: matches nothing (default true)' }),
  version: z
    .number()
    .int()
    .optional()
    .openapi({ description: 'Read-only, ignored: the version a write changes is the one If-Match names' }),
});
export const AgreementPatchBody = z.strictObject({
  active: z.boolean().openapi({ description: 'false: matches no invoice any more; true: matches again' }),
});
export const AgreementListQuery = z.strictObject({
  active: booleanFilter('Only active (true) or inactive (false) agreements'),
  vendorId: z.uuid().optional(),
  ...pageParams,
});

type Agreement = typeof agreements.$inferSelect;
type AgreementInput = z.infer<typeof AgreementBody>;

const AgreementView = z
  .object({
    id: z.uuid(),
    vendorId: z.uuid(),
    referencePattern: z.string().nullable(),
    invoiceNumber: z.string().nullable(),
    amountFrom: z.string(),
    amountTo: z.string(),
    days: z.number().int(),
    cumulativeCap: z.string().nullable(),
    cumulativeTotal: z.string().openapi({ description: 'Kept by the system; reset with POST /agreements/{id}/reset-cumulative' }),
    resetPeriod: z.enum(['monthly', 'quarterly', 'yearly']).nullable(),
    codingTemplateId: z.uuid(),
    approvalUserId: z.string().nullable(),
    flowTemplateId: z.uuid().nullable(),
    stage: z.string().nullable(),
    active: z.boolean(),
    version: z.number().int().openapi({
      description: 'Grows with every change of the definition through the API (not with the cumulative total); the ETag is "v<version>"',
    }),
  })
  .openapi('Agreement');

/** Agreement (contract) invoice definitions; writes need the admin role and are audited. */
export function agreementsRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/agreements', async (req, res) => {
    const user = currentUser(res);
    const query = parseOr422(AgreementListQuery, req.query, 'query');
    const position = decodeCursor(query.cursor);
    const where: SQL[] = [eq(agreements.companyId, user.companyId)];
    if (query.active !== undefined) where.push(eq(agreements.active, query.active === 'true'));
    if (query.vendorId) where.push(eq(agreements.vendorId, query.vendorId));
    if (position) where.push(after(agreements.createdAt, agreements.id, position, 'timestamptz'));
    // The creation time as Postgres' text keeps its microseconds, so the cursor lands exactly.
    const rows = await db
      .select({ agreement: agreements, createdAt: sql<string>`${agreements.createdAt}::text` })
      .from(agreements)
      .where(and(...where))
      .orderBy(asc(agreements.createdAt), asc(agreements.id))
      .limit(query.limit + 1);
    const page = pageOf(rows, query.limit, (r) => [r.createdAt, r.agreement.id]);
    res.json({ items: page.items.map((r) => view(r.agreement)), nextCursor: page.nextCursor });
  });

  router.get('/agreements/:id', async (req, res) => {
    const agreement = await findOwned(db, agreements, currentUser(res).companyId, req.params.id, 'agreement');
    // The version is the definition's: the cumulative total moves under the same ETag, so a
    // revalidation (If-None-Match) must not be answered 304 with a total the client has not seen.
    delete req.headers['if-none-match'];
    res.set('ETag', etag(agreement.version)).json(view(agreement));
  });

  router.post('/agreements', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(AgreementBody, req.body, 'agreement');
    const created = await db.transaction(async (tx) => {
      await checkReferences(tx, user, body, undefined);
      const [row] = await tx
        .insert(agreements)
        .values({ companyId: user.companyId, ...columns(body) })
        .returning();
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'agreement_created',
        message: `Agreement ${row!.id} created`,
        data: { ...body, version: row!.version },
      });
      return row!;
    });
    res.status(201).location(`/api/v1/agreements/${created.id}`).set('ETag', etag(created.version)).json(view(created));
  });

  router.put('/agreements/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, agreements, user.companyId, req.params.id, 'agreement');
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(AgreementBody, req.body, 'agreement');
    const updated = await db.transaction(async (tx) => {
      await checkReferences(tx, user, body, existing);
      const key = eq(agreements.id, existing.id);
      const [row] = await tx
        .update(agreements)
        .set({ ...columns(body), version: nextVersion(agreements.version) })
        .where(and(key, atVersion(agreements.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, agreements, key, 'agreement');
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'agreement_changed',
        message: `Agreement ${existing.id} changed`,
        data: { before: view(existing), after: { ...body, version: row.version } },
      });
      return row;
    });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  router.patch('/agreements/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, agreements, user.companyId, req.params.id, 'agreement');
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(AgreementPatchBody, req.body, 'agreement');
    const updated = await db.transaction(async (tx) => {
      if (body.active && !existing.active) {
        const problem = await inactiveCoding(tx, existing.codingTemplateId);
        if (problem)
          throw new ApiError(422, 'validation_failed', 'The agreement cannot be reactivated', [{ path: 'active', message: problem }]);
      }
      const key = eq(agreements.id, existing.id);
      const [row] = await tx
        .update(agreements)
        .set({ active: body.active, version: nextVersion(agreements.version) })
        .where(and(key, atVersion(agreements.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, agreements, key, 'agreement');
      if (existing.active !== body.active) {
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: body.active ? 'agreement_reactivated' : 'agreement_deactivated',
          message: `Agreement ${existing.id} ${body.active ? 'reactivated: it matches invoices again' : 'deactivated: it matches no invoice any more'}`,
          data: { agreementId: existing.id },
        });
      }
      return row;
    });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  router.delete('/agreements/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, agreements, user.companyId, req.params.id, 'agreement');
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    await db.transaction(async (tx) => {
      const [{ matched } = { matched: 0 }] = await tx
        .select({ matched: count() })
        .from(agreementMatches)
        .where(eq(agreementMatches.agreementId, existing.id));
      if (matched > 0) {
        throw new ApiError(
          409,
          'in_use',
          `${matched} invoice${matched === 1 ? ' has' : 's have'} matched this agreement, so it stays for their audit trail; deactivate it instead (PATCH /api/v1/agreements/${existing.id} {"active": false}) and it matches nothing new`,
          [{ agreementId: existing.id, matchedInvoices: matched, active: existing.active }],
        );
      }
      const key = eq(agreements.id, existing.id);
      const [gone] = await tx
        .delete(agreements)
        .where(and(key, atVersion(agreements.version, expected)))
        .returning({ id: agreements.id });
      if (!gone) throw await notWritten(tx, agreements, key, 'agreement');
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'agreement_deleted',
        message: `Agreement ${existing.id} deleted`,
        data: view(existing),
      });
    });
    res.status(204).end();
  });

  router.post('/agreements/:id/reset-cumulative', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, agreements, user.companyId, req.params.id, 'agreement');
    const updated = await db.transaction(async (tx) => {
      // The total is the system's, outside the versioned definition: a reset is no new version.
      const [row] = await tx
        .update(agreements)
        .set({ cumulativeTotal: '0', lastResetAt: new Date() })
        .where(eq(agreements.id, existing.id))
        .returning();
      await tx.update(agreementMatches).set({ counted: false }).where(eq(agreementMatches.agreementId, existing.id));
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'agreement_reset',
        message: `Cumulative total of agreement ${existing.id} reset from ${existing.cumulativeTotal}`,
      });
      return row!;
    });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  return router;
}

function columns(body: AgreementInput) {
  return {
    vendorId: body.vendorId,
    referencePattern: body.referencePattern ?? null,
    invoiceNumber: body.invoiceNumber ?? null,
    amountFrom: body.amountFrom,
    amountTo: body.amountTo,
    days: body.days,
    cumulativeCap: body.cumulativeCap ?? null,
    resetPeriod: body.resetPeriod ?? null,
    codingTemplateId: body.codingTemplateId,
    approvalUserId: body.approvalUserId ?? null,
    flowTemplateId: body.flowTemplateId ?? null,
    stage: body.stage ?? null,
    ...(body.active !== undefined ? { active: body.active } : {}),
  };
}

function view(a: Agreement): z.infer<typeof AgreementView> {
  return {
    id: a.id,
    vendorId: a.vendorId,
    referencePattern: a.referencePattern,
    invoiceNumber: a.invoiceNumber,
    amountFrom: a.amountFrom,
    amountTo: a.amountTo,
    days: a.days,
    cumulativeCap: a.cumulativeCap,
    cumulativeTotal: a.cumulativeTotal,
    resetPeriod: a.resetPeriod,
    codingTemplateId: a.codingTemplateId,
    approvalUserId: a.approvalUserId,
    flowTemplateId: a.flowTemplateId,
    stage: a.stage,
    active: a.active,
    version: a.version,
  };
}

/**
 * Whether the approval user could sign the agreement's invoices: an active approver whose limit
 * (the '*' one, when there is one) covers `amountTo` and whose cost centres cover the coding
 * template's rows. Matching checks again with the invoice itself, so a later change of the user
 * leaves such invoices manual rather than signed by someone who may no longer sign.
 */
function signerProblem(
  approver: DirectoryUser,
  body: AgreementInput,
  coding: typeof codingTemplates.$inferSelect | undefined,
): string | undefined {
  if (!approver.active) return `${approver.id} is not active`;
  if (!approver.roles.includes('approver')) return `${approver.id} does not have the approver role, so cannot sign invoices`;
  if (approver.approvalLimits.length === 0) return `${approver.id} has no approval limit`;
  const all = approver.approvalLimits.find((l) => l.currency === '*');
  if (all && all.amount !== null && compareDecimal(body.amountTo, all.amount) > 0) {
    return `${approver.id}'s approval limit ${all.amount} is below the agreement's amountTo ${body.amountTo}`;
  }
  const outside = (coding?.rows ?? [])
    .map((r) => r.dimensions?.costCentre)
    .filter((c): c is string => c !== undefined && approver.costCentres.length > 0 && !approver.costCentres.includes(c));
  if (outside.length > 0) return `${approver.id} may not approve cost centre ${outside.join(', ')} of the coding template`;
  return undefined;
}

/**
 * Every id must be of the caller's company; the coding template must code tax, and be active when
 * the agreement newly names it (or is reactivated with it); the stage must be in the flow.
 */
async function checkReferences(tx: Tx, user: CurrentUser, body: AgreementInput, existing: Agreement | undefined): Promise<void> {
  const details: { path: string; message: string }[] = [];
  const [vendor] = await tx
    .select({ id: vendors.id })
    .from(vendors)
    .where(and(eq(vendors.id, body.vendorId), eq(vendors.companyId, user.companyId)));
  if (!vendor) details.push({ path: 'vendorId', message: 'no such vendor' });
  const [coding] = await tx
    .select()
    .from(codingTemplates)
    .where(and(eq(codingTemplates.id, body.codingTemplateId), eq(codingTemplates.companyId, user.companyId)));
  if (!coding) details.push({ path: 'codingTemplateId', message: 'no such coding template' });
  else if (!coding.taxAccount || !coding.taxCode)
    details.push({ path: 'codingTemplateId', message: 'the coding template must code tax (tax account and tax code)' });
  else if (
    !coding.active &&
    (body.active ?? existing?.active ?? true) &&
    (!existing || existing.codingTemplateId !== coding.id || !existing.active)
  ) {
    details.push({ path: 'codingTemplateId', message: inactiveMessage(coding.name) });
  }
  if (body.approvalUserId) {
    const approver = await loadUser(tx, body.approvalUserId);
    const problem = approver?.companyId === user.companyId ? signerProblem(approver, body, coding) : 'no such user in this company';
    if (problem) details.push({ path: 'approvalUserId', message: problem });
  }
  if (body.flowTemplateId) {
    const [flow] = await tx
      .select()
      .from(flowTemplates)
      .where(and(eq(flowTemplates.id, body.flowTemplateId), eq(flowTemplates.companyId, user.companyId)));
    if (!flow) details.push({ path: 'flowTemplateId', message: 'no such flow template' });
    else if (body.stage && !flow.steps.some((s) => s.kind === body.stage)) {
      details.push({ path: 'stage', message: `the flow template has no ${body.stage} step` });
    }
  }
  if (details.length > 0) throw new ApiError(422, 'validation_failed', 'The agreement is not valid', details);
}

function inactiveMessage(name: string): string {
  return `the coding template "${name}" is inactive and is applied to no new invoice; reactivate it or choose an active one`;
}

/** Why an agreement with this coding template could not match now (the template is inactive), or undefined. */
async function inactiveCoding(tx: Tx, codingTemplateId: string): Promise<string | undefined> {
  const [coding] = await tx.select().from(codingTemplates).where(eq(codingTemplates.id, codingTemplateId));
  return coding && !coding.active ? inactiveMessage(coding.name) : undefined;
}

/** The agreement routes in the OpenAPI document. */
export const agreementsDocs: ApiDocs = (d) => {
  const tag = 'Agreements';
  const notAdmin = d.error('Not an admin');
  const unknown = d.error('Unknown or of another company');
  d.path(tag, 'get', '/agreements', {
    summary: "The company's agreement definitions, oldest first, filtered by active flag and vendor",
    request: { query: AgreementListQuery },
    responses: { 200: d.page(AgreementView), 400: d.error('Bad cursor'), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'get', '/agreements/:id', {
    summary: 'One agreement definition',
    request: { params: idParam },
    responses: { 200: versionedJson(d, AgreementView, 'The agreement'), ...d.common, 404: unknown },
  });
  d.path(tag, 'post', '/agreements', {
    summary: 'Create an agreement definition (admins; audited)',
    request: { body: d.body(AgreementBody) },
    responses: {
      201: versionedJson(d, AgreementView, 'Created (Location: its URL)'),
      ...d.common,
      403: notAdmin,
      422: d.error('Invalid definition: unknown or inactive coding template, approval user who could not sign, stage not in the flow, ...'),
    },
  });
  d.path(tag, 'put', '/agreements/:id', {
    summary: 'Replace an agreement definition (admins; audited; send If-Match); the cumulative total stays',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(AgreementBody) },
    responses: {
      200: versionedJson(d, AgreementView, 'Replaced'),
      ...d.common,
      403: notAdmin,
      404: unknown,
      412: staleResponse(d),
      422: d.error('Invalid definition'),
    },
  });
  d.path(tag, 'patch', '/agreements/:id', {
    summary: 'Deactivate or reactivate an agreement (admins; audited; send If-Match): an inactive one matches no invoice',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(AgreementPatchBody) },
    responses: {
      200: versionedJson(d, AgreementView, 'Changed'),
      ...d.common,
      403: notAdmin,
      404: unknown,
      412: staleResponse(d),
      422: d.error('Invalid body, or reactivation with an inactive coding template'),
    },
  });
  d.path(tag, 'delete', '/agreements/:id', {
    summary: 'Delete an agreement no invoice has matched (admins; audited; send If-Match)',
    request: { params: idParam, headers: IfMatchHeader },
    responses: {
      204: { description: 'Deleted' },
      ...d.common,
      403: notAdmin,
      404: unknown,
      409: d.error('in_use: invoices matched it; deactivate it instead (PATCH {"active": false})'),
      412: staleResponse(d),
    },
  });
  d.path(tag, 'post', '/agreements/:id/reset-cumulative', {
    summary: 'Reset the cumulative total to zero (admins; audited); the total is kept by the system, so the version stays',
    request: { params: idParam },
    responses: { 200: versionedJson(d, AgreementView, 'The agreement, total reset'), ...d.common, 403: notAdmin, 404: unknown },
  });
};
