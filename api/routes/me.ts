import { asc, eq } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { approvalLimits, companies } from '../../db/schema';
import { currentUser } from '../auth';
import type { ApiDocs } from '../openapi';

const MeView = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    roles: z.array(z.string()),
    groups: z.array(z.string()),
    permissions: z.array(z.string()),
    costCentres: z.array(z.string()),
    confidential: z.boolean(),
    approvalLimits: z.array(z.object({ currency: z.string(), amount: z.string().nullable() })),
    company: z.object({ id: z.uuid(), slug: z.string(), name: z.string(), environment: z.string() }),
  })
  .openapi('Me');

/**
 * `GET /me`: who the bearer token belongs to. The web page asks it after sign-in to greet the user
 * and to offer only what their roles allow (the API still decides every action).
 */
export function meRouter({ db }: { db: Db }): Router {
  const router = Router();
  router.get('/me', async (_req, res) => {
    const user = currentUser(res);
    const [[company], limits] = await Promise.all([
      db.select().from(companies).where(eq(companies.id, user.companyId)),
      db
        .select({ currency: approvalLimits.currency, amount: approvalLimits.amount })
        .from(approvalLimits)
        .where(eq(approvalLimits.userId, user.id))
        .orderBy(asc(approvalLimits.currency)),
    ]);
    const view: z.infer<typeof MeView> = {
      id: user.id,
      name: user.name,
      email: user.email,
      roles: user.roles,
      groups: user.groups,
      permissions: user.permissions,
      costCentres: user.costCentres,
      confidential: user.confidential,
      approvalLimits: limits,
      company: { id: company!.id, slug: company!.slug, name: company!.name, environment: company!.environment },
    };
    res.json(view);
  });
  return router;
}

/** The /me route in the OpenAPI document. */
export const meDocs: ApiDocs = (d) => {
  d.path('Users', 'get', '/me', {
    summary: 'The signed-in user (whose bearer token this is): roles, groups, permissions, limits and company',
    responses: { 200: d.json(MeView, 'The caller'), ...d.common },
  });
};
