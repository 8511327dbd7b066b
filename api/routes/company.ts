import { and, asc, eq } from 'drizzle-orm';
import { Router } from 'express';
import type { Db } from '../../db/client';
import { codingTemplates, flowTemplates, settings, vendors } from '../../db/schema';
import { currentUser, findOwned, requireAdmin } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import { SettingsPatchBody, VendorPatchBody } from '../schemas';

/** Vendors and company settings. */
export function companyRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/vendors', async (_req, res) => {
    const user = currentUser(res);
    const items = await db.select().from(vendors).where(eq(vendors.companyId, user.companyId)).orderBy(asc(vendors.name));
    res.json({ items: items.map(vendorView), nextCursor: null });
  });

  router.get('/vendors/:id', async (req, res) => {
    const user = currentUser(res);
    res.json(vendorView(await findOwned(db, vendors, user.companyId, req.params.id, 'vendor')));
  });

  router.patch('/vendors/:id', async (req, res) => {
    const user = requireAdmin(res);
    const vendor = await findOwned(db, vendors, user.companyId, req.params.id, 'vendor');
    const body = parseOr422(VendorPatchBody, req.body, 'vendor');
    if (body.flowTemplateId) await mustExist(db, flowTemplates, user.companyId, body.flowTemplateId, 'flowTemplateId');
    if (body.codingTemplateId) await mustExist(db, codingTemplates, user.companyId, body.codingTemplateId, 'codingTemplateId');
    const [updated] = await db.update(vendors).set(body).where(eq(vendors.id, vendor.id)).returning();
    res.json(vendorView(updated!));
  });

  router.get('/settings', async (_req, res) => {
    res.json(settingsView(await currentSettings(db, currentUser(res).companyId)));
  });

  router.patch('/settings', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(SettingsPatchBody, req.body, 'settings');
    await currentSettings(db, user.companyId);
    const [updated] = await db.update(settings).set(body).where(eq(settings.companyId, user.companyId)).returning();
    res.json(settingsView(updated!));
  });

  return router;
}

function vendorView(v: typeof vendors.$inferSelect) {
  return {
    id: v.id,
    name: v.name,
    vatNumber: v.vatNumber,
    endpointId: v.endpointId,
    email: v.email,
    flowTemplateId: v.flowTemplateId,
    codingTemplateId: v.codingTemplateId,
  };
}

function settingsView(s: typeof settings.$inferSelect) {
  return {
    useWorkqueueSend: s.useWorkqueueSend,
    allowBatchApproveAll: s.allowBatchApproveAll,
    /** In each invoice's own currency. */
    twoApproverThreshold: s.twoApproverThreshold,
    payableAccount: s.payableAccount,
  };
}

async function currentSettings(db: Db, companyId: string) {
  await db.insert(settings).values({ companyId }).onConflictDoNothing();
  const [row] = await db.select().from(settings).where(eq(settings.companyId, companyId));
  return row!;
}

async function mustExist(db: Db, table: typeof flowTemplates | typeof codingTemplates, companyId: string, id: string, field: string) {
  const t = table as typeof flowTemplates;
  const [row] = await db
    .select({ id: t.id })
    .from(t)
    .where(and(eq(t.id, id), eq(t.companyId, companyId)));
  if (!row) throw new ApiError(422, 'validation_failed', 'The vendor is not valid', [{ path: field, message: 'no such template' }]);
}
