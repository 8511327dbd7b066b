import { and, asc, eq, ilike, inArray, isNotNull, ne, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import { sqlState } from '../../activities/failures';
import type { Db, Tx } from '../../db/client';
import { approvalLimits, costCentres, flowTemplates, users } from '../../db/schema';
import { resolveAssignees, type FlowStepDefinition } from '../../domain/flow';
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
import { after, booleanFilter, containing, decodeCursor, pageOf, pageParams } from '../paging';
import { FlowStepBody, FlowTemplateBody } from '../schemas';
import { inUse, templateUsers } from './coding-templates';

export const FlowTemplateListQuery = z.strictObject({
  isDefault: booleanFilter('Only the default (true) or the others (false)'),
  q: z.string().trim().min(1).max(200).optional().openapi({ description: 'Name contains (case-insensitive)' }),
  ...pageParams,
});

const FlowTemplateView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    isDefault: z.boolean(),
    steps: z.array(FlowStepBody),
    version: z.number().int().openapi({ description: 'Grows with every change; the ETag is "v<version>"' }),
  })
  .openapi('FlowTemplate');

/** CRUD of flow templates; writes need the admin role. */
export function flowTemplatesRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/flow-templates', async (req, res) => {
    const user = currentUser(res);
    const query = parseOr422(FlowTemplateListQuery, req.query, 'query');
    const position = decodeCursor(query.cursor);
    const where: SQL[] = [eq(flowTemplates.companyId, user.companyId)];
    if (query.isDefault !== undefined) where.push(eq(flowTemplates.isDefault, query.isDefault === 'true'));
    if (query.q) where.push(ilike(flowTemplates.name, containing(query.q)));
    if (position) where.push(after(flowTemplates.name, flowTemplates.id, position));
    const rows = await db
      .select()
      .from(flowTemplates)
      .where(and(...where))
      .orderBy(asc(flowTemplates.name), asc(flowTemplates.id))
      .limit(query.limit + 1);
    const page = pageOf(rows, query.limit, (t) => [t.name, t.id]);
    res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
  });

  router.get('/flow-templates/:id', async (req, res) => {
    const template = await findOwned(db, flowTemplates, currentUser(res).companyId, req.params.id, 'flow template');
    res.set('ETag', etag(template.version)).json(view(template));
  });

  router.post('/flow-templates', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(FlowTemplateBody, req.body, 'flow template');
    await assertApprovable(db, user, body.steps);
    const created = await db.transaction(async (tx) => {
      if (body.isDefault) await dropDefault(tx, user.companyId);
      const [row] = await tx
        .insert(flowTemplates)
        .values({ companyId: user.companyId, name: body.name, isDefault: body.isDefault, steps: body.steps as FlowStepDefinition[] })
        .onConflictDoNothing()
        .returning();
      if (!row) throw nameTaken(body.name);
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'flow_template_created',
        message: `Flow template "${row.name}" created`,
        data: view(row),
      });
      return row;
    });
    res.status(201).location(`/api/v1/flow-templates/${created.id}`).set('ETag', etag(created.version)).json(view(created));
  });

  router.put('/flow-templates/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, flowTemplates, user.companyId, req.params.id, 'flow template');
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(FlowTemplateBody, req.body, 'flow template');
    await assertApprovable(db, user, body.steps);
    const updated = await db
      .transaction(async (tx) => {
        if (body.isDefault) await dropDefault(tx, user.companyId, existing.id);
        const key = eq(flowTemplates.id, existing.id);
        const [row] = await tx
          .update(flowTemplates)
          .set({
            name: body.name,
            isDefault: body.isDefault,
            steps: body.steps as FlowStepDefinition[],
            version: nextVersion(flowTemplates.version),
          })
          .where(and(key, atVersion(flowTemplates.version, expected)))
          .returning();
        if (!row) throw await notWritten(tx, flowTemplates, key, 'flow template');
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'flow_template_changed',
          message: `Flow template "${existing.name}" changed`,
          data: { before: view(existing), after: view(row) },
        });
        return row;
      })
      .catch((err: unknown) => {
        throw sqlState(err) === '23505' ? nameTaken(body.name) : err;
      });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  router.delete('/flow-templates/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, flowTemplates, user.companyId, req.params.id, 'flow template');
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const advice = 'give them another flow template first (PUT /agreements/{id}, PATCH /vendors/{id} with flowTemplateId)';
    await db
      .transaction(async (tx) => {
        const users = await templateUsers(tx, 'flow', existing.id);
        if (users.agreements.length + users.vendors.length > 0) throw inUse('flow template', existing.name, users, advice);
        const key = eq(flowTemplates.id, existing.id);
        const [gone] = await tx
          .delete(flowTemplates)
          .where(and(key, atVersion(flowTemplates.version, expected)))
          .returning({ id: flowTemplates.id });
        if (!gone) throw await notWritten(tx, flowTemplates, key, 'flow template');
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'flow_template_deleted',
          message: `Flow template "${existing.name}" deleted`,
          data: view(existing),
        });
      })
      .catch(async (err: unknown) => {
        // An agreement or vendor took it up meanwhile (foreign key): say who.
        if (sqlState(err) === '23503') throw inUse('flow template', existing.name, await templateUsers(db, 'flow', existing.id), advice);
        throw err;
      });
    res.status(204).end();
  });

  return router;
}

function view(t: typeof flowTemplates.$inferSelect) {
  return { id: t.id, name: t.name, isDefault: t.isDefault, steps: t.steps, version: t.version };
}

/** The company's default stops being it (a new version of it: its view changes), but for `keep`. */
async function dropDefault(tx: Tx, companyId: string, keep?: string): Promise<void> {
  await tx
    .update(flowTemplates)
    .set({ isDefault: false, version: nextVersion(flowTemplates.version) })
    .where(and(eq(flowTemplates.companyId, companyId), eq(flowTemplates.isDefault, true), keep ? ne(flowTemplates.id, keep) : undefined));
}

function nameTaken(name: string): ApiError {
  return new ApiError(409, 'name_taken', `A flow template named "${name}" exists already`);
}

/**
 * Refuses a template with a step that addresses nobody active, or an approval step that nobody
 * with an approval limit could act on. A by-dimension step addresses users with cost-centre
 * rights and the owners of the company's active cost centres.
 */
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
  const owners = new Set(
    (
      await db
        .select({ ownerId: costCentres.ownerId })
        .from(costCentres)
        .where(and(eq(costCentres.companyId, user.companyId), eq(costCentres.active, true), isNotNull(costCentres.ownerId)))
    ).map((c) => c.ownerId!),
  );
  const details: { path: string; message: string }[] = [];
  steps.forEach((step, i) => {
    const byDimension = step.assignees.byDimension
      ? directory.filter((u) => u.active && (u.costCentres.length > 0 || owners.has(u.id))).map((u) => u.id)
      : [];
    const resolved = [...new Set([...byDimension, ...resolveAssignees({ ...step.assignees, byDimension: undefined }, directory)])];
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

/** The flow-template routes in the OpenAPI document. */
export const flowTemplatesDocs: ApiDocs = (d) => {
  const tag = 'Flow templates';
  d.path(tag, 'get', '/flow-templates', {
    summary: "The company's flow templates by name",
    request: { query: FlowTemplateListQuery },
    responses: { 200: d.page(FlowTemplateView), 400: d.error('Bad cursor'), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'get', '/flow-templates/:id', {
    summary: 'One flow template',
    request: { params: idParam },
    responses: { 200: versionedJson(d, FlowTemplateView, 'The template'), ...d.common, 404: d.error('Unknown or of another company') },
  });
  d.path(tag, 'post', '/flow-templates', {
    summary: 'Create a flow template (admins); isDefault makes it the only default',
    request: { body: d.body(FlowTemplateBody) },
    responses: {
      201: versionedJson(d, FlowTemplateView, 'Created (Location: its URL)'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('name_taken'),
      422: d.error('Invalid template, or a step nobody could act on'),
    },
  });
  d.path(tag, 'put', '/flow-templates/:id', {
    summary: 'Replace a flow template (admins; send If-Match)',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(FlowTemplateBody) },
    responses: {
      200: versionedJson(d, FlowTemplateView, 'Replaced'),
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or of another company'),
      409: d.error('name_taken'),
      412: staleResponse(d),
      422: d.error('Invalid template, or a step nobody could act on'),
    },
  });
  d.path(tag, 'delete', '/flow-templates/:id', {
    summary: 'Delete a flow template nothing uses (admins; send If-Match)',
    request: { params: idParam, headers: IfMatchHeader },
    responses: {
      204: { description: 'Deleted' },
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or of another company'),
      409: d.error('in_use: details list the agreements (ids) and vendors (names) that use it'),
      412: staleResponse(d),
    },
  });
};
