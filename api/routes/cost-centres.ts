import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db, Tx } from '../../db/client';
import { costCentres, users } from '../../db/schema';
import { currentUser, requireAdmin } from '../auth';
import { lockDirectory, refreshOpenTasksOf, RefreshOutcomeView, type DirectoryDeps } from '../directory-service';
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
import type { ApiDocs } from '../openapi';
import { booleanFilter, decodeCursor, pageOf, pageParams } from '../paging';

/** A cost centre's code, as coding rows carry it in `dimensions.costCentre`. */
export const CostCentreCode = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/, 'letters, digits, ".", "_" and "-", at most 40, such as "CC-100"');

const OwnerId = z.string().min(1).max(120).describe('An active user of the company: who a "by dimension" step addresses');

export const CostCentreCreateBody = z.strictObject({
  code: CostCentreCode,
  name: z.string().trim().min(1).max(200),
  ownerId: OwnerId.nullable().optional(),
});

export const CostCentrePatchBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  ownerId: OwnerId.nullable().optional(),
  /** Cost centres are deactivated, never deleted: coding rows and journals name them. */
  active: z.boolean().optional(),
});

export const CostCentreListQuery = z.strictObject({
  active: booleanFilter('Only active (true) or deactivated (false) cost centres'),
  ...pageParams,
});

const CostCentreView = z.object({
  code: z.string(),
  name: z.string(),
  ownerId: z.string().nullable(),
  active: z.boolean(),
  createdAt: z.string(),
  version: z.number().int().describe('Grows with every change; the ETag is "v<version>"'),
});
const codeParam = z.object({ code: z.string() });

type CostCentre = typeof costCentres.$inferSelect;

/** Cost centres with their owners; anyone of the company reads, admins write. */
export function costCentresRouter(deps: DirectoryDeps): Router {
  const { db } = deps;
  const router = Router();

  router.get('/cost-centres', async (req, res) => {
    const user = currentUser(res);
    const q = parseOr422(CostCentreListQuery, req.query, 'query');
    const position = decodeCursor(q.cursor);
    const filters: SQL[] = [eq(costCentres.companyId, user.companyId)];
    if (q.active) filters.push(eq(costCentres.active, q.active === 'true'));
    if (position) filters.push(gt(costCentres.code, position[1]));
    const rows = await db
      .select()
      .from(costCentres)
      .where(and(...filters))
      .orderBy(asc(costCentres.code))
      .limit(q.limit + 1);
    // The code is the key: the cursor's position is (code, code).
    const page = pageOf(rows, q.limit, (c) => [c.code, c.code]);
    res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
  });

  router.get('/cost-centres/:code', async (req, res) => {
    const costCentre = await findCostCentre(db, currentUser(res).companyId, req.params.code);
    res.set('ETag', etag(costCentre.version)).json(view(costCentre));
  });

  router.post('/cost-centres', async (req, res) => {
    const admin = requireAdmin(res);
    const body = parseOr422(CostCentreCreateBody, req.body, 'cost centre');
    const created = await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      if (body.ownerId) await checkOwner(tx, admin.companyId, body.ownerId);
      const [row] = await tx
        .insert(costCentres)
        .values({ companyId: admin.companyId, code: body.code, name: body.name, ownerId: body.ownerId ?? null })
        .onConflictDoNothing()
        .returning();
      if (!row) throw new ApiError(409, 'code_taken', `A cost centre ${body.code} exists already`);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'cost_centre_created',
        message: `Cost centre ${row.code} created${row.ownerId ? `, owned by ${row.ownerId}` : ''}`,
        data: view(row),
      });
      return row;
    });
    res
      .status(201)
      .location(`/api/v1/cost-centres/${encodeURIComponent(created.code)}`)
      .set('ETag', etag(created.version))
      .json(view(created));
  });

  router.patch('/cost-centres/:code', async (req, res) => {
    const admin = requireAdmin(res);
    const existing = await findCostCentre(db, admin.companyId, req.params.code);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(CostCentrePatchBody, req.body, 'cost centre');
    const { before, after } = await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      const current = await findCostCentre(tx, admin.companyId, existing.code);
      if (body.ownerId) await checkOwner(tx, admin.companyId, body.ownerId);
      const [row] = await tx
        .update(costCentres)
        .set({
          name: body.name ?? current.name,
          ownerId: body.ownerId === undefined ? current.ownerId : body.ownerId,
          active: body.active ?? current.active,
          version: nextVersion(costCentres.version),
        })
        .where(and(key(admin.companyId, current.code), atVersion(costCentres.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, costCentres, key(admin.companyId, current.code), 'cost centre');
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'cost_centre_changed',
        message: `Cost centre ${current.code} changed`,
        data: { before: view(current), after: view(row) },
      });
      return { before: current, after: row };
    });
    // Routing addresses the owner of an active cost centre: a new owner or a deactivation changes
    // who a by-dimension task goes to. The old owner's open tasks are resolved again.
    const ownerLeft = before.ownerId !== null && (before.ownerId !== after.ownerId || (before.active && !after.active));
    const refreshed = ownerLeft
      ? await refreshOpenTasksOf(deps, admin, [before.ownerId!], `cost centre ${before.code} changed`)
      : { refreshedInvoices: 0, refreshFailures: [] };
    res.set('ETag', etag(after.version)).json({ ...view(after), ...refreshed });
  });

  return router;
}

const key = (companyId: string, code: string) => and(eq(costCentres.companyId, companyId), eq(costCentres.code, code));

async function findCostCentre(db: Db | Tx, companyId: string, code: string): Promise<CostCentre> {
  const [row] = await db.select().from(costCentres).where(key(companyId, code));
  if (!row) throw ApiError.notFound('cost centre');
  return row;
}

/** The owner is who a by-dimension step addresses: an active user of this company. */
async function checkOwner(tx: Tx, companyId: string, ownerId: string): Promise<void> {
  const [owner] = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, ownerId), eq(users.companyId, companyId), eq(users.active, true)));
  if (!owner) {
    throw new ApiError(422, 'validation_failed', 'The cost centre is not valid', [
      { path: 'ownerId', message: `no active user ${ownerId} in this company` },
    ]);
  }
}

function view(c: CostCentre) {
  return { code: c.code, name: c.name, ownerId: c.ownerId, active: c.active, createdAt: c.createdAt.toISOString(), version: c.version };
}

/** The cost-centre routes in the OpenAPI document. */
export const costCentresDocs: ApiDocs = (d) => {
  const notFound = d.error("No such cost centre in the caller's company");
  d.path('Cost centres', 'get', '/cost-centres', {
    summary: "The company's cost centres by code, with owners; filter active",
    request: { query: CostCentreListQuery },
    responses: {
      200: d.page(CostCentreView, 'A page of cost centres'),
      400: d.error('Unknown cursor'),
      ...d.common,
      422: d.error('Invalid query'),
    },
  });
  d.path('Cost centres', 'get', '/cost-centres/:code', {
    summary: 'One cost centre',
    request: { params: codeParam },
    responses: { 200: versionedJson(d, CostCentreView, 'The cost centre'), ...d.common, 404: notFound },
  });
  d.path('Cost centres', 'post', '/cost-centres', {
    summary: 'Create a cost centre (admins), optionally with its owner',
    request: { body: d.body(CostCentreCreateBody) },
    responses: {
      201: versionedJson(d, CostCentreView, 'Created'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('The code is taken (code_taken)'),
      422: d.error('Invalid cost centre, or the owner is not an active user of the company'),
    },
  });
  d.path('Cost centres', 'patch', '/cost-centres/:code', {
    summary: "Rename, change the owner, or (de)activate a cost centre (admins; send If-Match); the old owner's open tasks are re-resolved",
    request: { params: codeParam, headers: IfMatchHeader, body: d.body(CostCentrePatchBody) },
    responses: {
      200: versionedJson(d, CostCentreView.extend(RefreshOutcomeView), 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: notFound,
      412: staleResponse(d),
      422: d.error('Invalid change'),
    },
  });
};
