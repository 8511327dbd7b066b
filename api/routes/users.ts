import { PERMISSIONS } from '../../domain/stages';
import { MAX_SUBSTITUTE_CHAIN, SYSTEM_ACTOR } from '../../domain/routing/assign';
import { moveTasksOfAbsentUsers } from '../../lib/absences';
import { randomBytes } from 'node:crypto';
import { and, asc, eq, gt, ilike, inArray, ne, or, sql, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db, Tx } from '../../db/client';
import { apiTokens, approvalLimits, costCentres, groups, users } from '../../db/schema';
import { format, isCurrency, isNegative, money, MoneyError } from '../../domain/money';
import { ROLES } from '../../domain/stages';
import { hashToken } from '../../lib/tokens';
import { currentUser, forgetCachedTokens, isUuid, requireAdmin, type CurrentUser } from '../auth';
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
import { booleanFilter, containing, decodeCursor, pageOf, pageParams } from '../paging';
import { CostCentreCode } from './cost-centres';
import { GroupId, touchGroups } from './groups';

/** Readable, because admins type user ids into signals in the Temporal Web UI. */
export const UserId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,119}$/, 'lowercase letters, digits, ".", "_" and "-", such as "demo.frank"')
  .refine((id) => id !== SYSTEM_ACTOR, `"${SYSTEM_ACTOR}" is reserved for the worker's own actions`);

const WILDCARD_DECIMAL = /^\d{1,15}(\.\d{1,2})?$/;

const ApprovalLimitInput = z
  .strictObject({
    currency: z.string().refine((c) => c === '*' || isCurrency(c), 'an ISO 4217 code such as "EUR", or "*" for every other currency'),
    amount: z.string().nullable().describe("Decimal string in the currency's minor digits, or null for no limit"),
  })
  .superRefine((l, ctx) => {
    if (l.amount === null) return;
    const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['amount'], message });
    if (l.currency === '*') {
      if (!WILDCARD_DECIMAL.test(l.amount)) issue('must be a non-negative decimal with at most 2 decimals, such as "10000.00"');
      return;
    }
    if (!isCurrency(l.currency)) return;
    try {
      if (isNegative(money(l.amount, l.currency))) issue('must not be negative');
    } catch (e) {
      if (e instanceof MoneyError) issue(e.message);
      else throw e;
    }
  });

const uniqueBy =
  <T>(key: (t: T) => string, what: string) =>
  (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(key(item))) ctx.addIssue({ code: 'custom', path: [i], message: `${what} ${key(item)} appears twice` });
      seen.add(key(item));
    });
  };

const userFields = {
  name: z.string().trim().min(1).max(200),
  email: z.email(),
  roles: z.array(z.enum(ROLES)).max(ROLES.length).superRefine(uniqueBy(String, 'role')),
  groups: z.array(GroupId).max(100).superRefine(uniqueBy(String, 'group')),
  /** Cost centres the user may approve; empty means every cost centre. */
  costCentres: z.array(CostCentreCode).max(1000).superRefine(uniqueBy(String, 'cost centre')),
  confidential: z.boolean(),
  active: z.boolean(),
  /** Granted beyond the roles: review:override, environment:admin. */
  permissions: z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length).superRefine(uniqueBy(String, 'permission')),
  approvalLimits: z
    .array(ApprovalLimitInput)
    .max(200)
    .superRefine(uniqueBy((l) => l.currency, 'currency')),
};

export const UserCreateBody = z.strictObject({
  id: UserId,
  name: userFields.name,
  email: userFields.email,
  roles: userFields.roles.default([]),
  groups: userFields.groups.default([]),
  costCentres: userFields.costCentres.default([]),
  confidential: userFields.confidential.default(false),
  active: userFields.active.default(true),
  permissions: userFields.permissions.default([]),
  approvalLimits: userFields.approvalLimits.default([]),
});

export const UserPatchBody = z.strictObject({
  name: userFields.name.optional(),
  email: userFields.email.optional(),
  roles: userFields.roles.optional(),
  groups: userFields.groups.optional(),
  costCentres: userFields.costCentres.optional(),
  confidential: userFields.confidential.optional(),
  active: userFields.active.optional(),
  permissions: userFields.permissions.optional(),
  approvalLimits: userFields.approvalLimits.optional(),
});

export const UserListQuery = z.strictObject({
  role: z.enum(ROLES).optional(),
  group: GroupId.optional(),
  active: booleanFilter('Only active (true) or deactivated (false) users'),
  /** Part of the id, name or e-mail, any case. */
  q: z.string().trim().min(1).max(200).optional(),
  ...pageParams,
});

export const TokenBody = z.strictObject({ label: z.string().trim().max(200).optional() });

const UserView = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string(),
  roles: z.array(z.enum(ROLES)),
  groups: z.array(z.string()),
  costCentres: z.array(z.string()),
  confidential: z.boolean(),
  active: z.boolean(),
  permissions: z.array(z.string()),
  approvalLimits: z.array(z.object({ currency: z.string(), amount: z.string().nullable() })),
  absence: z
    .object({ from: z.string(), until: z.string(), substituteId: z.string().nullable() })
    .nullable()
    .describe('An absence period (until is exclusive) and who takes the tasks meanwhile; null when none is set'),
  createdAt: z.string(),
  version: z.number().int().describe('Grows with every change, of the group memberships too; the ETag is "v<version>"'),
});
const TokenView = z.object({
  id: z.uuid(),
  label: z.string(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
const userIdParam = z.object({ id: z.string() });

const Instant = z.iso.datetime({ offset: true }).describe('An instant such as "2026-12-01T00:00:00Z"');
const AbsenceBody = z
  .strictObject({
    from: Instant,
    until: Instant.describe('Exclusive: the user is back at this instant'),
    substituteId: z.string().max(120).nullable().describe('Who takes the tasks meanwhile; null: the next qualifying person'),
  })
  .refine((a) => Date.parse(a.until) > Date.parse(a.from), { path: ['until'], message: 'must be after from' });

type User = typeof users.$inferSelect;
type Limit = { currency: string; amount: string | null };

/** Users of the company: anyone of it reads, admins write; users are deactivated, never deleted. */
export function usersRouter(deps: DirectoryDeps): Router {
  const { db } = deps;
  const router = Router();

  router.get('/users', async (req, res) => {
    const user = currentUser(res);
    const q = parseOr422(UserListQuery, req.query, 'query');
    const position = decodeCursor(q.cursor);
    const filters: SQL[] = [eq(users.companyId, user.companyId)];
    if (q.role) filters.push(sql`${users.roles} @> array[${q.role}]::text[]`);
    if (q.group) filters.push(sql`${users.groups} @> array[${q.group}]::text[]`);
    if (q.active) filters.push(eq(users.active, q.active === 'true'));
    if (q.q) {
      const pattern = containing(q.q);
      filters.push(or(ilike(users.id, pattern), ilike(users.name, pattern), ilike(users.email, pattern))!);
    }
    if (position) filters.push(gt(users.id, position[1]));
    const rows = await db
      .select()
      .from(users)
      .where(and(...filters))
      .orderBy(asc(users.id))
      .limit(q.limit + 1);
    // The id is the key: the cursor's position is (id, id).
    const page = pageOf(rows, q.limit, (u) => [u.id, u.id]);
    const limits = await limitsOf(
      db,
      page.items.map((u) => u.id),
    );
    res.json({ items: page.items.map((u) => view(u, limits.get(u.id) ?? [])), nextCursor: page.nextCursor });
  });

  router.get('/users/:id', async (req, res) => {
    const found = await findUser(db, currentUser(res).companyId, req.params.id);
    res.set('ETag', etag(found.version)).json(view(found, (await limitsOf(db, [found.id])).get(found.id) ?? []));
  });

  router.post('/users', async (req, res) => {
    const admin = requireAdmin(res);
    const body = parseOr422(UserCreateBody, req.body, 'user');
    const created = await db.transaction(async (tx) => {
      await checkReferences(tx, admin.companyId, body);
      const [row] = await tx
        .insert(users)
        .values({
          id: body.id,
          companyId: admin.companyId,
          name: body.name,
          email: body.email,
          roles: body.roles,
          groups: body.groups,
          costCentres: body.costCentres,
          confidential: body.confidential,
          active: body.active,
          permissions: body.permissions,
        })
        .onConflictDoNothing()
        .returning();
      if (!row) throw new ApiError(409, 'id_taken', `A user with the id ${body.id} exists already; choose another id`);
      await touchGroups(tx, admin.companyId, body.groups);
      const limits = normalisedLimits(body.approvalLimits);
      if (limits.length > 0) await tx.insert(approvalLimits).values(limits.map((l) => ({ userId: row.id, ...l })));
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'user_created',
        message: `User ${row.id} created`,
        data: { ...body, approvalLimits: limits },
      });
      return view(row, limits);
    });
    res.status(201).location(`/api/v1/users/${created.id}`).set('ETag', etag(created.version)).json(created);
  });

  router.patch('/users/:id', async (req, res) => {
    const admin = requireAdmin(res);
    const target = await findUser(db, admin.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, target.version);
    const body = parseOr422(UserPatchBody, req.body, 'user');
    const { before, after, routingChanges } = await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      const [current] = await tx.select().from(users).where(eq(users.id, target.id));
      const oldLimits = (await limitsOf(tx, [target.id])).get(target.id) ?? [];
      await checkReferences(tx, admin.companyId, body);
      const newLimits = body.approvalLimits ? normalisedLimits(body.approvalLimits) : oldLimits;
      const next = {
        name: body.name ?? current!.name,
        email: body.email ?? current!.email,
        roles: body.roles ?? current!.roles,
        groups: body.groups ?? current!.groups,
        costCentres: body.costCentres ?? current!.costCentres,
        confidential: body.confidential ?? current!.confidential,
        active: body.active ?? current!.active,
        permissions: body.permissions ?? current!.permissions,
      };
      await keepAConfidentialAdmin(tx, current!, next);
      const key = eq(users.id, target.id);
      const [row] = await tx
        .update(users)
        .set({ ...next, version: nextVersion(users.version) })
        .where(and(key, atVersion(users.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, users, key, 'user');
      const joinedOrLeft = [...next.groups, ...current!.groups].filter((g) => next.groups.includes(g) !== current!.groups.includes(g));
      await touchGroups(tx, admin.companyId, joinedOrLeft);
      if (body.approvalLimits) {
        await tx.delete(approvalLimits).where(eq(approvalLimits.userId, target.id));
        if (newLimits.length > 0) await tx.insert(approvalLimits).values(newLimits.map((l) => ({ userId: target.id, ...l })));
      }
      const beforeView = view(current!, oldLimits);
      const afterView = view(row, newLimits);
      const changes = routingChangesOf(beforeView, afterView);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'user_changed',
        message: `User ${target.id} changed${changes.length > 0 ? `: ${changes.join(', ')}` : ''}`,
        data: { before: beforeView, after: afterView },
      });
      return { before: beforeView, after: afterView, routingChanges: changes };
    });
    forgetCachedTokens(); // active, roles and clearance are read from the cached user
    // After the commit, so the workflows resolve against the new directory.
    const refreshed =
      routingChanges.length > 0
        ? await refreshOpenTasksOf(deps, admin, [before.id], `user ${before.id} changed (${routingChanges.join(', ')})`)
        : { refreshedInvoices: 0, refreshFailures: [] };
    res.set('ETag', etag(after.version)).json({ ...after, ...refreshed });
  });

  router.put('/users/:id/absence', async (req, res) => {
    const actor = currentUser(res);
    const target = await findUser(db, actor.companyId, req.params.id);
    mayManage(actor, target, "Only an admin may set another user's absence");
    const body = parseOr422(AbsenceBody, req.body, 'absence');
    const now = new Date();
    const from = new Date(body.from);
    const until = new Date(body.until);
    if (until <= now)
      throw new ApiError(422, 'validation_failed', 'The absence is not valid', [{ path: 'until', message: 'must be in the future' }]);
    const updated = await db.transaction(async (tx) => {
      await lockDirectory(tx, actor.companyId);
      if (body.substituteId !== null) await checkSubstitute(tx, target, body.substituteId, now);
      const [row] = await tx
        .update(users)
        .set({
          absentFrom: from,
          absentUntil: until,
          substituteId: body.substituteId,
          absenceAppliedAt: null,
          version: nextVersion(users.version),
        })
        .where(eq(users.id, target.id))
        .returning();
      await audit(tx, {
        companyId: actor.companyId,
        actor: actor.id,
        kind: 'absence_set',
        message: `${target.id} is absent from ${body.from} until ${body.until}; ${body.substituteId ? `${body.substituteId} substitutes` : 'no substitute: the next qualifying person takes the tasks'}`,
        data: { userId: target.id, ...body },
      });
      return row!;
    });
    forgetCachedTokens();
    // After the commit, so routing sees the absence: an absence that has begun moves the open tasks now.
    const moved = from <= now ? await moveTasksOfAbsentUsers(db, deps.temporal, { userIds: [target.id], log: deps.log }) : { invoices: 0 };
    res.set('ETag', etag(updated.version)).json({
      ...view(updated, (await limitsOf(db, [updated.id])).get(updated.id) ?? []),
      movedInvoices: moved.invoices,
    });
  });

  router.delete('/users/:id/absence', async (req, res) => {
    const actor = currentUser(res);
    const target = await findUser(db, actor.companyId, req.params.id);
    mayManage(actor, target, "Only an admin may set another user's absence");
    await db.transaction(async (tx) => {
      await lockDirectory(tx, actor.companyId);
      await tx
        .update(users)
        .set({ absentFrom: null, absentUntil: null, substituteId: null, absenceAppliedAt: null, version: nextVersion(users.version) })
        .where(eq(users.id, target.id));
      if (target.absentFrom) {
        await audit(tx, {
          companyId: actor.companyId,
          actor: actor.id,
          kind: 'absence_cleared',
          message: `${target.id} is no longer absent`,
        });
      }
    });
    forgetCachedTokens();
    res.status(204).end();
  });

  router.post('/users/:id/tokens', async (req, res) => {
    const actor = currentUser(res);
    const target = await findUser(db, actor.companyId, req.params.id);
    mayManage(actor, target, "Only an admin may manage another user's tokens");
    const body = parseOr422(TokenBody, req.body ?? {}, 'token');
    // Shown once, here; only its hash is kept.
    const token = `ifl_${randomBytes(32).toString('base64url')}`;
    const issued = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(apiTokens)
        .values({ userId: target.id, tokenHash: hashToken(token), label: body.label ?? '', createdBy: actor.id })
        .returning();
      await audit(tx, {
        companyId: actor.companyId,
        actor: actor.id,
        kind: 'token_issued',
        message: `Token ${row!.id} issued for ${target.id}`,
        data: { userId: target.id, tokenId: row!.id, label: row!.label },
      });
      return row!;
    });
    res
      .status(201)
      .location(`/api/v1/users/${target.id}/tokens`)
      .json({ ...tokenView(issued), token });
  });

  router.get('/users/:id/tokens', async (req, res) => {
    const actor = currentUser(res);
    const target = await findUser(db, actor.companyId, req.params.id);
    mayManage(actor, target, "Only an admin may manage another user's tokens");
    const rows = await db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.userId, target.id))
      .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
    res.json({ items: rows.map(tokenView), nextCursor: null });
  });

  router.delete('/users/:id/tokens/:tokenId', async (req, res) => {
    const actor = currentUser(res);
    const target = await findUser(db, actor.companyId, req.params.id);
    mayManage(actor, target, "Only an admin may manage another user's tokens");
    const tokenId = req.params.tokenId;
    if (!isUuid(tokenId)) throw ApiError.notFound('token');
    await db.transaction(async (tx) => {
      const [token] = await tx
        .select()
        .from(apiTokens)
        .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, target.id)));
      if (!token) throw ApiError.notFound('token');
      if (token.revokedAt) return;
      await tx.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, token.id));
      await audit(tx, {
        companyId: actor.companyId,
        actor: actor.id,
        kind: 'token_revoked',
        message: `Token ${token.id} of ${target.id} revoked`,
        data: { userId: target.id, tokenId: token.id, label: token.label },
      });
    });
    forgetCachedTokens();
    res.status(204).end();
  });

  return router;
}

/** The user with this id in the company, or 404 (another company's user does not exist for the caller). */
async function findUser(db: Db, companyId: string, id: string): Promise<User> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, id), eq(users.companyId, companyId)));
  if (!row) throw ApiError.notFound('user');
  return row;
}

/**
 * A substitute is an active user of the company other than the absent one, whose own chain of
 * substitutes (of absences not over yet) does not lead back to the absent user.
 */
async function checkSubstitute(tx: Tx, target: User, substituteId: string, now: Date): Promise<void> {
  const problem = (message: string) =>
    new ApiError(422, 'validation_failed', 'The absence is not valid', [{ path: 'substituteId', message }]);
  if (substituteId === target.id) throw problem('must be someone else');
  const chain = [target.id];
  let next: string | null = substituteId;
  for (let hop = 0; next !== null && hop <= MAX_SUBSTITUTE_CHAIN; hop += 1) {
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.id, next), eq(users.companyId, target.companyId)));
    if (!user) throw problem(hop === 0 ? `there is no user ${substituteId} in this company` : `${next} in the chain does not exist`);
    if (hop === 0 && !user.active) throw problem(`${substituteId} is not active`);
    if (chain.includes(user.id)) throw problem(`would make a loop: ${[...chain, user.id].join(' → ')}`);
    chain.push(user.id);
    next = user.absentUntil && user.absentUntil > now ? user.substituteId : null;
  }
}

/** An admin manages anyone's tokens and absence in the company; anyone else only their own (403 `refusal` otherwise). */
function mayManage(actor: CurrentUser, target: User, refusal: string): void {
  if (actor.id !== target.id && !actor.roles.includes('admin')) throw new ApiError(403, 'forbidden', refusal);
}

async function limitsOf(db: Db | Tx, userIds: string[]): Promise<Map<string, Limit[]>> {
  const byUser = new Map<string, Limit[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db.select().from(approvalLimits).where(inArray(approvalLimits.userId, userIds)).orderBy(asc(approvalLimits.currency));
  for (const l of rows) byUser.set(l.userId, [...(byUser.get(l.userId) ?? []), { currency: l.currency, amount: l.amount }]);
  return byUser;
}

/** Amounts with the currency's minor digits ("5000" EUR is stored as "5000.00"); '*' as given. */
function normalisedLimits(limits: Limit[]): Limit[] {
  return limits
    .map((l) => ({
      currency: l.currency,
      amount: l.amount === null || l.currency === '*' ? l.amount : format(money(l.amount, l.currency)),
    }))
    .sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
}

/** Groups and cost centres must exist in the company: a typo would silently grant nothing. */
async function checkReferences(tx: Tx, companyId: string, body: { groups?: string[]; costCentres?: string[] }): Promise<void> {
  const details: { path: string; message: string }[] = [];
  if (body.groups && body.groups.length > 0) {
    const found = new Set(
      (
        await tx
          .select({ id: groups.id })
          .from(groups)
          .where(and(eq(groups.companyId, companyId), inArray(groups.id, body.groups)))
      ).map((g) => g.id),
    );
    body.groups.forEach((g, i) => {
      if (!found.has(g)) details.push({ path: `groups.${i}`, message: `no group ${g} in this company` });
    });
  }
  if (body.costCentres && body.costCentres.length > 0) {
    const found = new Set(
      (
        await tx
          .select({ code: costCentres.code })
          .from(costCentres)
          .where(and(eq(costCentres.companyId, companyId), inArray(costCentres.code, body.costCentres)))
      ).map((c) => c.code),
    );
    body.costCentres.forEach((c, i) => {
      if (!found.has(c)) details.push({ path: `costCentres.${i}`, message: `no cost centre ${c} in this company` });
    });
  }
  if (details.length > 0) throw new ApiError(422, 'validation_failed', 'The user is not valid', details);
}

const guardsConfidential = (u: { active: boolean; roles: readonly string[]; confidential: boolean }) =>
  u.active && u.roles.includes('admin') && u.confidential;

/**
 * Routing sends a confidential invoice that nobody else may take to the admins cleared for it; a
 * company without one would leave such invoices with nobody. Called under the directory lock.
 */
async function keepAConfidentialAdmin(tx: Tx, before: User, after: { active: boolean; roles: readonly string[]; confidential: boolean }) {
  if (!guardsConfidential(before) || guardsConfidential(after)) return;
  const [other] = await tx
    .select({ id: users.id })
    .from(users)
    .where(
      and(
        eq(users.companyId, before.companyId),
        ne(users.id, before.id),
        eq(users.active, true),
        eq(users.confidential, true),
        sql`${users.roles} @> array['admin']::text[]`,
      ),
    )
    .limit(1);
  if (!other) {
    throw new ApiError(
      409,
      'last_confidential_admin',
      `${before.id} is the last active admin cleared for confidential invoices; clear another admin first`,
    );
  }
}

/** What changed that routing looks at (roles, groups, cost centres, clearance, active, limits). */
function routingChangesOf(before: ReturnType<typeof view>, after: ReturnType<typeof view>): string[] {
  const same = (a: readonly unknown[], b: readonly unknown[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
  const changes: string[] = [];
  if (before.active !== after.active) changes.push(after.active ? 'activated' : 'deactivated');
  if (!same(before.roles, after.roles)) changes.push('roles');
  if (!same(before.groups, after.groups)) changes.push('groups');
  if (!same(before.costCentres, after.costCentres)) changes.push('cost centres');
  if (before.confidential !== after.confidential) changes.push('confidential clearance');
  if (JSON.stringify(before.approvalLimits) !== JSON.stringify(after.approvalLimits)) changes.push('approval limits');
  return changes;
}

function view(u: User, limits: Limit[]) {
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    roles: u.roles,
    groups: u.groups,
    costCentres: u.costCentres,
    confidential: u.confidential,
    active: u.active,
    permissions: u.permissions,
    approvalLimits: limits,
    absence:
      u.absentFrom && u.absentUntil
        ? { from: u.absentFrom.toISOString(), until: u.absentUntil.toISOString(), substituteId: u.substituteId }
        : null,
    createdAt: u.createdAt.toISOString(),
    version: u.version,
  };
}

function tokenView(t: typeof apiTokens.$inferSelect) {
  return {
    id: t.id,
    label: t.label,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

/** The user routes in the OpenAPI document. */
export const usersDocs: ApiDocs = (d) => {
  const notFound = d.error("No such user in the caller's company");
  d.path('Users', 'get', '/users', {
    summary: "Users of the caller's company, by id; filters: role, group, active, q (part of id, name or e-mail)",
    request: { query: UserListQuery },
    responses: { 200: d.page(UserView, 'A page of users'), 400: d.error('Unknown cursor'), ...d.common, 422: d.error('Invalid query') },
  });
  d.path('Users', 'get', '/users/:id', {
    summary: 'One user with roles, groups, cost centres, clearance and approval limits',
    request: { params: userIdParam },
    responses: { 200: versionedJson(d, UserView, 'The user'), ...d.common, 404: notFound },
  });
  d.path('Users', 'post', '/users', {
    summary: "Create a user (admins); approval limit amounts in the currency's minor digits, null for no limit",
    request: { body: d.body(UserCreateBody) },
    responses: {
      201: versionedJson(d, UserView, 'Created'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('The id is taken (id_taken)'),
      422: d.error('Invalid user, unknown group or cost centre; details list every problem'),
    },
  });
  d.path('Users', 'patch', '/users/:id', {
    summary:
      'Change a user (admins; send If-Match; deactivate with active: false). Changes routing looks at re-resolve the open tasks the user is on',
    request: { params: userIdParam, headers: IfMatchHeader, body: d.body(UserPatchBody) },
    responses: {
      200: versionedJson(d, UserView.extend(RefreshOutcomeView), 'Changed, with how many open invoices were refreshed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: notFound,
      409: d.error('The last active admin cleared for confidential invoices (last_confidential_admin)'),
      412: staleResponse(d),
      422: d.error('Invalid change; details list every problem'),
    },
  });
  d.path('Users', 'put', '/users/:id/absence', {
    summary:
      "Set a user's absence and substitute (the user, or an admin): tasks opening meanwhile go to the substitute, open ones move when it begins",
    request: { params: userIdParam, body: d.body(AbsenceBody) },
    responses: {
      200: versionedJson(d, UserView.extend({ movedInvoices: z.number().int() }), 'Set, with how many open tasks moved already'),
      ...d.common,
      403: d.error("Another user's absence, and not an admin"),
      404: notFound,
      422: d.error('Invalid period, unknown or inactive substitute, or a substitute loop'),
    },
  });
  d.path('Users', 'delete', '/users/:id/absence', {
    summary: "Clear a user's absence (the user, or an admin); tasks moved to the substitute stay there",
    request: { params: userIdParam },
    responses: { 204: { description: 'Cleared' }, ...d.common, 403: d.error("Another user's absence, and not an admin"), 404: notFound },
  });
  d.path('Users', 'post', '/users/:id/tokens', {
    summary: 'Issue a bearer token (admins, or the user for themself); the token is shown only in this answer',
    request: { params: userIdParam, body: d.body(TokenBody) },
    responses: {
      201: d.json(TokenView.extend({ token: z.string() }), 'Issued'),
      ...d.common,
      403: d.error("Another user's token, and not an admin"),
      404: notFound,
      422: d.error('Invalid body'),
    },
  });
  d.path('Users', 'get', '/users/:id/tokens', {
    summary: "A user's tokens (never the tokens or their hashes)",
    request: { params: userIdParam },
    responses: {
      200: d.page(TokenView, 'The tokens'),
      ...d.common,
      403: d.error("Another user's tokens, and not an admin"),
      404: notFound,
    },
  });
  d.path('Users', 'delete', '/users/:id/tokens/:tokenId', {
    summary: 'Revoke a token (admins, or the user for themself); revoking twice is a no-op',
    request: { params: z.object({ id: z.string(), tokenId: z.uuid() }) },
    responses: {
      204: { description: 'Revoked' },
      ...d.common,
      403: d.error("Another user's token, and not an admin"),
      404: d.error('No such user or token'),
    },
  });
};
