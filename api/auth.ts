import { eq } from 'drizzle-orm';
import type { RequestHandler, Response } from 'express';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { hashToken } from '../lib/tokens';
import { ApiError } from './errors';

export type CurrentUser = typeof users.$inferSelect;

/** Resolves `Authorization: Bearer <token>` to an active user, or answers 401. */
export function authenticate(db: Db): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError(401, 'unauthenticated', 'Send a bearer token: Authorization: Bearer <token>');
    const [user] = await db
      .select()
      .from(users)
      .where(eq(users.tokenHash, hashToken(match[1]!)))
      .limit(1);
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
