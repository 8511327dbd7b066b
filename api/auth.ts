import { and, eq, isNull } from 'drizzle-orm';
import type { RequestHandler, Response } from 'express';
import type { Db } from '../db/client';
import { agreements, apiTokens, flowTemplates, users, vendors } from '../db/schema';
import { hashToken } from '../lib/tokens';
import { ApiError } from './errors';

export type CurrentUser = typeof users.$inferSelect;

/** Resolves `Authorization: Bearer <token>` to an active user, or answers 401. */
export function authenticate(db: Db): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError(401, 'unauthenticated', 'Send a bearer token: Authorization: Bearer <token>');
    const [row] = await db
      .select({ user: users })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(and(eq(apiTokens.tokenHash, hashToken(match[1]!)), isNull(apiTokens.revokedAt)))
      .limit(1);
    const user = row?.user;
    if (!user || !user.active) throw new ApiError(401, 'unauthenticated', 'The bearer token is not valid');
    res.locals.user = user;
    next();
  };
}

export function currentUser(res: Response): CurrentUser {
  const user = res.locals.user as CurrentUser | undefined;
  if (!user) throw new ApiError(401, 'unauthenticated', 'Not authenticated');
  return user;
}

/** Whether a user may see an invoice at all: same company, and cleared for confidential ones. */
export function canSee(user: CurrentUser, invoice: { companyId: string; confidential: boolean }): boolean {
  return invoice.companyId === user.companyId && (!invoice.confidential || user.confidential);
}

/** The current user, who must be an admin (403 otherwise). */
export function requireAdmin(res: Response): CurrentUser {
  const user = currentUser(res);
  if (!user.roles.includes('admin')) throw new ApiError(403, 'forbidden', 'This needs the admin role');
  return user;
}

/** Whether a path parameter can be a row id at all (anything else is answered as not found). */
export function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

type CompanyTable = typeof agreements | typeof flowTemplates | typeof vendors;

/** The row of `table` with this id in the caller's company, or a 404 naming `noun`. */
export async function findOwned<T extends CompanyTable>(
  db: Db,
  table: T,
  companyId: string,
  id: string,
  noun: string,
): Promise<T['$inferSelect']> {
  if (!isUuid(id)) throw ApiError.notFound(noun);
  // drizzle's select() cannot take a union of tables; each of them has `id` and `company_id`.
  const t = table as typeof vendors;
  const [row] = await db
    .select()
    .from(t)
    .where(and(eq(t.id, id), eq(t.companyId, companyId)));
  if (!row) throw ApiError.notFound(noun);
  return row as T['$inferSelect'];
}
