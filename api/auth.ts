import { and, eq, isNull } from 'drizzle-orm';
import type { RequestHandler, Response } from 'express';
import type { Db } from '../db/client';
import { agreements, apiTokens, flowTemplates, users, vendors } from '../db/schema';
import { hashToken } from '../lib/tokens';
import { ApiError } from './errors';

export type CurrentUser = typeof users.$inferSelect;

/** How long a resolved bearer token is reused by GET requests of this process, and how many are kept. */
export const TOKEN_CACHE_TTL_MS = 3000;
const TOKEN_CACHE_MAX = 10_000;

/**
 * Tokens resolved lately (by token hash, one cache per app), so a page polled by many people does
 * not cost a token lookup per request. Only GET and HEAD use it: every other request looks the
 * token up again, so a revoked token or a deactivated user never changes anything. Revoking a
 * token or changing a user in this process forgets every entry at once (`forgetCachedTokens`);
 * another API process sees the change within TOKEN_CACHE_TTL_MS.
 */
type TokenCache = Map<string, { user: CurrentUser; until: number; generation: number }>;
/** Bumped by every forget: older entries are void, and a lookup that began before one is not kept. */
let cacheGeneration = 0;

/** Forgets every cached token; call it after revoking a token or changing a user (active, roles, clearance). */
export function forgetCachedTokens(): void {
  cacheGeneration += 1;
}

function cachedUser(cache: TokenCache, tokenHash: string, now: number): CurrentUser | undefined {
  const hit = cache.get(tokenHash);
  if (!hit) return undefined;
  if (hit.until > now && hit.generation === cacheGeneration) return hit.user;
  cache.delete(tokenHash);
  return undefined;
}

function cacheUser(cache: TokenCache, tokenHash: string, user: CurrentUser, generation: number): void {
  if (generation !== cacheGeneration) return;
  // A Map keeps insertion order: past the bound, the oldest entry goes.
  if (cache.size >= TOKEN_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(tokenHash, { user, until: Date.now() + TOKEN_CACHE_TTL_MS, generation });
}

/** Resolves `Authorization: Bearer <token>` to an active user, or answers 401. */
export function authenticate(db: Db): RequestHandler {
  const cache: TokenCache = new Map();
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError(401, 'unauthenticated', 'Send a bearer token: Authorization: Bearer <token>');
    const tokenHash = hashToken(match[1]!);
    const safe = req.method === 'GET' || req.method === 'HEAD';
    const cached = safe ? cachedUser(cache, tokenHash, Date.now()) : undefined;
    if (cached) {
      res.locals.user = cached;
      next();
      return;
    }
    const generation = cacheGeneration;
    const [row] = await db
      .select({ user: users })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
      .limit(1);
    const user = row?.user;
    if (!user || !user.active) throw new ApiError(401, 'unauthenticated', 'The bearer token is not valid');
    cacheUser(cache, tokenHash, user, generation);
    // A request that may change users or tokens (groups, absences, ...) leaves no answer cached from before it.
    if (!safe) res.on('finish', forgetCachedTokens);
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
