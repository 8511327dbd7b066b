import { and, asc, eq, inArray, or } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db } from '../../db/client';
import { companies, partnerships } from '../../db/schema';
import { currentUser, requireAdmin, type CurrentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import type { ApiDocs } from '../openapi';

const Environment = z.string().trim().min(1).max(100);

export const PartnershipBody = z.strictObject({
  /** The other environment: its users and ours may receive each other's delegated tasks. */
  environment: Environment,
});

const EnvironmentView = z.object({
  environment: z.string(),
  /** The caller's own environment (false: a partner's). */
  own: z.boolean(),
  companies: z.array(z.object({ name: z.string() })),
});
const PartnershipView = z.object({ environment: z.string(), createdAt: z.string() });
const environmentParam = z.object({ environment: z.string() });

/** Environments and their partnerships (who may receive delegated tasks from whom, SPEC 1). */
export function environmentsRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/environments', async (_req, res) => {
    const user = currentUser(res);
    const own = await environmentOf(db, user);
    const partners = (await partnersOf(db, own)).map((p) => p.environment);
    const rows = await db
      .select({ environment: companies.environment, name: companies.name })
      .from(companies)
      .where(inArray(companies.environment, [own, ...partners]))
      .orderBy(asc(companies.environment), asc(companies.name));
    const items = [own, ...partners.sort()].map((environment) => ({
      environment,
      own: environment === own,
      companies: rows.filter((r) => r.environment === environment).map((r) => ({ name: r.name })),
    }));
    res.json({ items, nextCursor: null });
  });

  router.get('/partnerships', async (_req, res) => {
    const own = await environmentOf(db, currentUser(res));
    res.json({ items: await partnersOf(db, own), nextCursor: null });
  });

  router.post('/partnerships', async (req, res) => {
    const admin = requireAdmin(res);
    const body = parseOr422(PartnershipBody, req.body, 'partnership');
    const own = await environmentOf(db, admin);
    const invalid = (message: string) =>
      new ApiError(422, 'validation_failed', 'The partnership is not valid', [{ path: 'environment', message }]);
    if (body.environment === own) throw invalid('is your own environment');
    const [exists] = await db.select({ id: companies.id }).from(companies).where(eq(companies.environment, body.environment)).limit(1);
    if (!exists) throw invalid(`no environment ${body.environment}`);
    const [a, b] = [own, body.environment].sort() as [string, string];
    const created = await db.transaction(async (tx) => {
      const [row] = await tx.insert(partnerships).values({ environmentA: a, environmentB: b }).onConflictDoNothing().returning();
      if (!row) throw new ApiError(409, 'partnership_exists', `${own} and ${body.environment} are partners already`);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'partnership_created',
        message: `Environment ${own} is now a partner of ${body.environment}`,
        data: { environments: [a, b] },
      });
      return row;
    });
    res
      .status(201)
      .location(`/api/v1/partnerships/${encodeURIComponent(body.environment)}`)
      .json({ environment: body.environment, createdAt: created.createdAt.toISOString() });
  });

  router.delete('/partnerships/:environment', async (req, res) => {
    const admin = requireAdmin(res);
    const own = await environmentOf(db, admin);
    const other = req.params.environment;
    const [a, b] = [own, other].sort() as [string, string];
    await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(partnerships)
        .where(and(eq(partnerships.environmentA, a), eq(partnerships.environmentB, b)))
        .returning();
      if (!row) throw ApiError.notFound('partnership');
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'partnership_deleted',
        message: `Environment ${own} is no longer a partner of ${other}`,
        data: { environments: [a, b] },
      });
    });
    res.status(204).end();
  });

  return router;
}

async function environmentOf(db: Db, user: CurrentUser): Promise<string> {
  const [row] = await db.select({ environment: companies.environment }).from(companies).where(eq(companies.id, user.companyId));
  return row!.environment;
}

/** The environments partnered with `own`, with when. */
async function partnersOf(db: Db, own: string): Promise<{ environment: string; createdAt: string }[]> {
  const rows = await db
    .select()
    .from(partnerships)
    .where(or(eq(partnerships.environmentA, own), eq(partnerships.environmentB, own)));
  return rows
    .map((p) => ({ environment: p.environmentA === own ? p.environmentB : p.environmentA, createdAt: p.createdAt.toISOString() }))
    .sort((x, y) => (x.environment < y.environment ? -1 : x.environment > y.environment ? 1 : 0));
}

/** The environment and partnership routes in the OpenAPI document. */
export const environmentsDocs: ApiDocs = (d) => {
  d.path('Environments', 'get', '/environments', {
    summary: "The caller's environment and those partnered with it, with their companies' names",
    responses: { 200: d.page(EnvironmentView, 'The environments'), ...d.common },
  });
  d.path('Environments', 'get', '/partnerships', {
    summary: "The environments partnered with the caller's (their users may receive each other's delegated tasks)",
    responses: { 200: d.page(PartnershipView, 'The partnerships'), ...d.common },
  });
  d.path('Environments', 'post', '/partnerships', {
    summary: "Partner the caller's environment with another existing one (admins)",
    request: { body: d.body(PartnershipBody) },
    responses: {
      201: d.json(PartnershipView, 'Created'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('The environments are partners already (partnership_exists)'),
      422: d.error('Invalid body, unknown environment, or the own one'),
    },
  });
  d.path('Environments', 'delete', '/partnerships/:environment', {
    summary: "End the partnership of the caller's environment with another (admins)",
    request: { params: environmentParam },
    responses: {
      204: { description: 'Ended' },
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error("No partnership of the caller's environment with that one"),
    },
  });
};
