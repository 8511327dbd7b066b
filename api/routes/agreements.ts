import { and, asc, eq } from 'drizzle-orm';
import { Router } from 'express';
import type { z } from 'zod';
import { audit } from '../../activities';
import type { Db, Tx } from '../../db/client';
import { loadUser } from '../../activities/directory';
import { agreementMatches, agreements, codingTemplates, flowTemplates, vendors } from '../../db/schema';
import { compareDecimal } from '../../domain/money';
import type { DirectoryUser } from '../../domain/routing/assign';
import { currentUser, findOwned, requireAdmin, type CurrentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import { AgreementBody } from '../schemas';

type AgreementInput = z.infer<typeof AgreementBody>;

/** Agreement (contract) invoice definitions; writes need the admin role and are audited. */
export function agreementsRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/agreements', async (_req, res) => {
    const user = currentUser(res);
    const rows = await db.select().from(agreements).where(eq(agreements.companyId, user.companyId)).orderBy(asc(agreements.createdAt));
    res.json({ items: rows.map(view), nextCursor: null });
  });

  router.get('/agreements/:id', async (req, res) => {
    res.json(view(await findOwned(db, agreements, currentUser(res).companyId, req.params.id, 'agreement')));
  });

  router.post('/agreements', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(AgreementBody, req.body, 'agreement');
    const created = await db.transaction(async (tx) => {
      await checkReferences(tx, user, body);
      const [row] = await tx
        .insert(agreements)
        .values({ companyId: user.companyId, ...columns(body) })
        .returning();
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'agreement_created',
        message: `Agreement ${row!.id} created`,
        data: { ...body },
      });
      return row!;
    });
    res.status(201).location(`/api/v1/agreements/${created.id}`).json(view(created));
  });

  router.put('/agreements/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, agreements, user.companyId, req.params.id, 'agreement');
    const body = parseOr422(AgreementBody, req.body, 'agreement');
    const updated = await db.transaction(async (tx) => {
      await checkReferences(tx, user, body);
      const [row] = await tx.update(agreements).set(columns(body)).where(eq(agreements.id, existing.id)).returning();
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'agreement_changed',
        message: `Agreement ${existing.id} changed`,
        data: { before: view(existing), after: { ...body } },
      });
      return row!;
    });
    res.json(view(updated));
  });

  router.delete('/agreements/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, agreements, user.companyId, req.params.id, 'agreement');
    await db.transaction(async (tx) => {
      const [used] = await tx
        .select({ id: agreementMatches.invoiceId })
        .from(agreementMatches)
        .where(eq(agreementMatches.agreementId, existing.id))
        .limit(1);
      if (used) throw new ApiError(409, 'in_use', 'Invoices have matched this agreement; it stays for their audit trail (edit it instead)');
      await tx.delete(agreements).where(eq(agreements.id, existing.id));
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
    res.json(view(updated));
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
  };
}

function view(a: typeof agreements.$inferSelect) {
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

/** Every id must be of the caller's company; the coding template must code tax; the stage must be in the flow. */
async function checkReferences(tx: Tx, user: CurrentUser, body: AgreementInput): Promise<void> {
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
