import { asc, eq, inArray } from 'drizzle-orm';
import { Router } from 'express';
import type { Db } from '../../db/client';
import { approvalLimits, flowTemplates, users, vendors } from '../../db/schema';
import { resolveAssignees, type FlowStepDefinition } from '../../domain/flow';
import { currentUser, findOwned, requireAdmin, type CurrentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import { FlowTemplateBody } from '../schemas';

/** CRUD of flow templates; writes need the admin role. */
export function flowTemplatesRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/flow-templates', async (_req, res) => {
    const user = currentUser(res);
    const items = await db.select().from(flowTemplates).where(eq(flowTemplates.companyId, user.companyId)).orderBy(asc(flowTemplates.name));
    res.json({ items: items.map(view), nextCursor: null });
  });

  router.get('/flow-templates/:id', async (req, res) => {
    res.json(view(await findOwned(db, flowTemplates, currentUser(res).companyId, req.params.id, 'flow template')));
  });

  router.post('/flow-templates', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(FlowTemplateBody, req.body, 'flow template');
    await assertApprovable(db, user, body.steps);
    const created = await db.transaction(async (tx) => {
      if (body.isDefault) await tx.update(flowTemplates).set({ isDefault: false }).where(eq(flowTemplates.companyId, user.companyId));
      const [row] = await tx
        .insert(flowTemplates)
        .values({ companyId: user.companyId, name: body.name, isDefault: body.isDefault, steps: body.steps as FlowStepDefinition[] })
        .onConflictDoNothing()
        .returning();
      if (!row) throw new ApiError(409, 'name_taken', `A flow template named "${body.name}" exists already`);
      return row;
    });
    res.status(201).location(`/api/v1/flow-templates/${created.id}`).json(view(created));
  });

  router.put('/flow-templates/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, flowTemplates, user.companyId, req.params.id, 'flow template');
    const body = parseOr422(FlowTemplateBody, req.body, 'flow template');
    await assertApprovable(db, user, body.steps);
    const updated = await db.transaction(async (tx) => {
      if (body.isDefault) await tx.update(flowTemplates).set({ isDefault: false }).where(eq(flowTemplates.companyId, user.companyId));
      const [row] = await tx
        .update(flowTemplates)
        .set({ name: body.name, isDefault: body.isDefault, steps: body.steps as FlowStepDefinition[] })
        .where(eq(flowTemplates.id, existing.id))
        .returning();
      return row!;
    });
    res.json(view(updated));
  });

  router.delete('/flow-templates/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, flowTemplates, user.companyId, req.params.id, 'flow template');
    const [used] = await db.select({ id: vendors.id }).from(vendors).where(eq(vendors.flowTemplateId, existing.id)).limit(1);
    if (used) throw new ApiError(409, 'in_use', 'Vendors still use this flow template; give them another one first');
    await db.delete(flowTemplates).where(eq(flowTemplates.id, existing.id));
    res.status(204).end();
  });

  return router;
}

function view(t: typeof flowTemplates.$inferSelect) {
  return { id: t.id, name: t.name, isDefault: t.isDefault, steps: t.steps };
}

/** Refuses a template with an approval step that nobody active with an approval limit could act on. */
async function assertApprovable(db: Db, user: CurrentUser, steps: FlowStepDefinition[]): Promise<void> {
  const directory = await db.select().from(users).where(eq(users.companyId, user.companyId));
  const limited = new Set(
    (
      await db
        .select({ userId: approvalLimits.userId })
        .from(approvalLimits)
        .where(inArray(approvalLimits.userId, directory.map((u) => u.id).concat('')))
    ).map((l) => l.userId),
  );
  const details: { path: string; message: string }[] = [];
  steps.forEach((step, i) => {
    const addressed = step.assignees.byDimension
      ? directory.filter((u) => u.active && u.costCentres.length > 0).map((u) => u.id)
      : resolveAssignees(step.assignees, directory);
    const resolved = step.assignees.byDimension
      ? [...new Set([...addressed, ...resolveAssignees({ ...step.assignees, byDimension: undefined }, directory)])]
      : addressed;
    if (resolved.length === 0) details.push({ path: `steps.${i}.assignees`, message: `the ${step.kind} step addresses no active user` });
    else if (step.kind === 'approval' && !resolved.some((id) => limited.has(id))) {
      details.push({
        path: `steps.${i}.assignees`,
        message: 'nobody this approval step addresses has an approval limit, so nobody could approve',
      });
    }
  });
  if (details.length > 0) throw new ApiError(422, 'validation_failed', 'The flow template cannot route invoices', details);
}
