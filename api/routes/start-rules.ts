/**
 * Start rules (SPEC 2.4): the company's rules, checked in order when an invoice's workflow starts.
 * Everyone of the company reads them; admins write. A rule's `position` is its place in the
 * order: creating or moving a rule to a taken place moves the rules from there one down, so the
 * order is always 1..n without gaps or ties. Rules are deactivated or deleted; the audit trail of
 * the invoices they judged keeps their name and version.
 */
import { and, asc, eq, gte, gt, lte, lt, ne, sql, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db, Tx } from '../../db/client';
import { groups, startRules, users } from '../../db/schema';
import { describeTest, FIELD_TESTS, MAX_PATTERN_LENGTH } from '../../domain/conditions';
import { ROLES } from '../../domain/stages';
import { DOCUMENT_FIELDS, startRuleProblems, type StartCondition, type StartOutcome } from '../../domain/start-rules';
import { currentUser, isUuid, requireAdmin } from '../auth';
import { lockDirectory } from '../directory-service';
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
import { booleanFilter } from '../paging';

const text = (max: number) => z.string().trim().min(1).max(max);
const Duration = z.string().regex(/^\d{1,4}[mhd]$/, 'a duration such as "3d", "4h" or "30m"');

const ConditionBody = z.strictObject({
  field: z.enum(DOCUMENT_FIELDS),
  test: z.enum(FIELD_TESTS),
  value: z.string().max(MAX_PATTERN_LENGTH).optional(),
});

const OutcomeBody = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('assign'),
    to: z.strictObject({
      users: z.array(text(120)).max(50).optional(),
      groups: z.array(text(120)).max(50).optional(),
      roles: z.array(z.enum(ROLES)).max(ROLES.length).optional(),
    }),
  }),
  z.strictObject({
    kind: z.literal('mail'),
    to: z.enum(['supplier', 'department']),
    address: z.email().max(254).optional(),
    subject: text(250).refine((s) => !/[\r\n]/.test(s), 'one line'),
    body: text(20_000),
    awaitReply: Duration.optional(),
  }),
  z.strictObject({ kind: z.literal('reject'), reason: text(500) }),
]);

export const StartRuleBody = z.strictObject({
  name: text(200),
  /** Place in the order, 1 first; the end when left out. */
  position: z.number().int().min(1).max(10_000).optional(),
  active: z.boolean().default(true),
  conditions: z.array(ConditionBody).min(1).max(50),
  outcome: OutcomeBody,
});
const StartRulePatch = z.strictObject({
  position: z.number().int().min(1).max(10_000).optional(),
  active: z.boolean().optional(),
});
const StartRuleQuery = z.strictObject({ active: booleanFilter('Only active (true) or deactivated (false) rules') });

const StartRuleView = z.object({
  id: z.uuid(),
  position: z.number().int(),
  name: z.string(),
  active: z.boolean(),
  conditions: z.array(z.object({ field: z.string(), test: z.string(), value: z.string().optional() })),
  outcome: z.record(z.string(), z.unknown()),
  /** The conditions in words. */
  requires: z.array(z.string()),
  version: z.number().int().describe('Grows with every change; the ETag is "v<version>"'),
  createdAt: z.string(),
});

type Rule = typeof startRules.$inferSelect;

function view(r: Rule) {
  return {
    id: r.id,
    position: r.position,
    name: r.name,
    active: r.active,
    conditions: r.conditions,
    outcome: r.outcome,
    requires: r.conditions.map((c) => describeTest(c.field, c.test, c.value)),
    version: r.version,
    createdAt: r.createdAt.toISOString(),
  };
}

const ofCompany = (companyId: string) => eq(startRules.companyId, companyId);

async function findRule(db: Db | Tx, companyId: string, id: string): Promise<Rule> {
  if (!isUuid(id)) throw ApiError.notFound('start rule');
  const [row] = await db
    .select()
    .from(startRules)
    .where(and(eq(startRules.id, id), ofCompany(companyId)));
  if (!row) throw ApiError.notFound('start rule');
  return row;
}

function invalid(details: { path: string; message: string }[]): ApiError {
  return new ApiError(422, 'validation_failed', 'The start rule is not valid', details);
}

/** The rule's own checks, and that an assignment names active users and groups of the company. */
async function checked(tx: Tx, companyId: string, body: z.infer<typeof StartRuleBody>): Promise<void> {
  const problems = startRuleProblems({ conditions: body.conditions as StartCondition[], outcome: body.outcome as StartOutcome });
  const o = body.outcome;
  if (o.kind === 'assign') {
    for (const [i, id] of (o.to.users ?? []).entries()) {
      const [user] = await tx
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.id, id), eq(users.companyId, companyId), eq(users.active, true)));
      if (!user) problems.push({ path: `outcome.to.users.${i}`, message: `no active user ${id} in this company` });
    }
    for (const [i, id] of (o.to.groups ?? []).entries()) {
      const [group] = await tx
        .select({ id: groups.id })
        .from(groups)
        .where(and(eq(groups.id, id), eq(groups.companyId, companyId)));
      if (!group) problems.push({ path: `outcome.to.groups.${i}`, message: `no group ${id} in this company` });
    }
  }
  if (problems.length > 0) throw invalid(problems);
}

/** How many rules the company has: positions run 1..count. */
async function countRules(tx: Tx, companyId: string): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(startRules)
    .where(ofCompany(companyId));
  return row!.n;
}

/** Moves the rules in [from, to] by `by` places (one down to make room, one up to close a gap). */
async function shift(tx: Tx, companyId: string, range: SQL[], by: 1 | -1, except?: string): Promise<void> {
  await tx
    .update(startRules)
    .set({ position: sql`${startRules.position} + ${by}` })
    .where(and(ofCompany(companyId), ...range, except ? ne(startRules.id, except) : undefined));
}

/** Puts a rule at `wanted` (clamped to 1..count), moving the others so the order stays 1..n. */
async function move(tx: Tx, companyId: string, rule: Rule, wanted: number): Promise<number> {
  const target = Math.min(Math.max(wanted, 1), await countRules(tx, companyId));
  if (target < rule.position) {
    await shift(tx, companyId, [gte(startRules.position, target), lt(startRules.position, rule.position)], 1, rule.id);
  } else if (target > rule.position) {
    await shift(tx, companyId, [gt(startRules.position, rule.position), lte(startRules.position, target)], -1, rule.id);
  }
  return target;
}

export function startRulesRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/start-rules', async (req, res) => {
    const user = currentUser(res);
    const q = parseOr422(StartRuleQuery, req.query, 'query');
    const filters: SQL[] = [ofCompany(user.companyId)];
    if (q.active) filters.push(eq(startRules.active, q.active === 'true'));
    // A company has a handful of rules, read in order as a whole: one page.
    const rows = await db
      .select()
      .from(startRules)
      .where(and(...filters))
      .orderBy(asc(startRules.position))
      .limit(10_000);
    res.json({ items: rows.map(view), nextCursor: null });
  });

  router.get('/start-rules/:id', async (req, res) => {
    const rule = await findRule(db, currentUser(res).companyId, req.params.id);
    res.set('ETag', etag(rule.version)).json(view(rule));
  });

  router.post('/start-rules', async (req, res) => {
    const admin = requireAdmin(res);
    const body = parseOr422(StartRuleBody, req.body, 'start rule');
    const created = await db.transaction(async (tx) => {
      // The directory lock also serialises the order: two admins adding rules get distinct places.
      await lockDirectory(tx, admin.companyId);
      await checked(tx, admin.companyId, body);
      const count = await countRules(tx, admin.companyId);
      const position = Math.min(body.position ?? count + 1, count + 1);
      await shift(tx, admin.companyId, [gte(startRules.position, position)], 1);
      const [row] = await tx
        .insert(startRules)
        .values({
          companyId: admin.companyId,
          position,
          name: body.name,
          active: body.active,
          conditions: body.conditions as StartCondition[],
          outcome: body.outcome as StartOutcome,
        })
        .returning();
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'start_rule_created',
        message: `Start rule "${row!.name}" created at place ${position}`,
        data: view(row!),
      });
      return row!;
    });
    res.status(201).location(`/api/v1/start-rules/${created.id}`).set('ETag', etag(created.version)).json(view(created));
  });

  router.put('/start-rules/:id', async (req, res) => {
    const admin = requireAdmin(res);
    const expected = expectedVersion(req);
    const existing = await findRule(db, admin.companyId, req.params.id);
    checkVersion(expected, existing.version);
    const body = parseOr422(StartRuleBody, req.body, 'start rule');
    const saved = await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      await checked(tx, admin.companyId, body);
      const current = await findRule(tx, admin.companyId, existing.id);
      const position = body.position === undefined ? current.position : await move(tx, admin.companyId, current, body.position);
      const [row] = await tx
        .update(startRules)
        .set({
          position,
          name: body.name,
          active: body.active,
          conditions: body.conditions as StartCondition[],
          outcome: body.outcome as StartOutcome,
          version: nextVersion(startRules.version),
        })
        .where(and(eq(startRules.id, current.id), atVersion(startRules.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, startRules, eq(startRules.id, current.id), 'start rule');
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'start_rule_changed',
        message: `Start rule "${row.name}" changed: version ${row.version}`,
        data: { before: view(current), after: view(row) },
      });
      return row;
    });
    res.set('ETag', etag(saved.version)).json(view(saved));
  });

  router.patch('/start-rules/:id', async (req, res) => {
    const admin = requireAdmin(res);
    const expected = expectedVersion(req);
    const existing = await findRule(db, admin.companyId, req.params.id);
    checkVersion(expected, existing.version);
    const body = parseOr422(StartRulePatch, req.body, 'start rule');
    const saved = await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      const current = await findRule(tx, admin.companyId, existing.id);
      const position = body.position === undefined ? current.position : await move(tx, admin.companyId, current, body.position);
      const [row] = await tx
        .update(startRules)
        .set({ position, active: body.active ?? current.active, version: nextVersion(startRules.version) })
        .where(and(eq(startRules.id, current.id), atVersion(startRules.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, startRules, eq(startRules.id, current.id), 'start rule');
      const changes = [
        row.position !== current.position ? `moved to place ${row.position}` : undefined,
        row.active !== current.active ? (row.active ? 'activated' : 'deactivated') : undefined,
      ].filter(Boolean);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'start_rule_changed',
        message: `Start rule "${row.name}" ${changes.join(', ') || 'saved unchanged'}`,
        data: { before: view(current), after: view(row) },
      });
      return row;
    });
    res.set('ETag', etag(saved.version)).json(view(saved));
  });

  router.delete('/start-rules/:id', async (req, res) => {
    const admin = requireAdmin(res);
    const expected = expectedVersion(req);
    const existing = await findRule(db, admin.companyId, req.params.id);
    checkVersion(expected, existing.version);
    await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      const [gone] = await tx
        .delete(startRules)
        .where(and(eq(startRules.id, existing.id), atVersion(startRules.version, expected)))
        .returning();
      if (!gone) throw await notWritten(tx, startRules, eq(startRules.id, existing.id), 'start rule');
      await shift(tx, admin.companyId, [gt(startRules.position, gone.position)], -1);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'start_rule_deleted',
        message: `Start rule "${gone.name}" deleted`,
        data: view(gone),
      });
    });
    res.status(204).end();
  });

  return router;
}

export const startRulesDocs: ApiDocs = (d) => {
  const tag = 'Start rules';
  const notFound = d.error("No such start rule in the caller's company");
  d.path(tag, 'get', '/start-rules', {
    summary: "The company's start rules in the order they are checked",
    request: { query: StartRuleQuery },
    responses: { 200: d.page(StartRuleView), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'get', '/start-rules/:id', {
    summary: 'One start rule',
    request: { params: idParam },
    responses: { 200: versionedJson(d, StartRuleView, 'The rule'), ...d.common, 404: notFound },
  });
  d.path(tag, 'post', '/start-rules', {
    summary: 'Create a start rule (admins), at `position` or last; the rules from there move one down',
    request: { body: d.body(StartRuleBody) },
    responses: {
      201: versionedJson(d, StartRuleView, 'Created'),
      ...d.common,
      403: d.error('Not an admin'),
      422: d.error('Invalid rule (e.g. a pattern that could backtrack catastrophically, or an unknown user)'),
    },
  });
  d.path(tag, 'put', '/start-rules/:id', {
    summary: 'Replace a start rule (admins; send If-Match)',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(StartRuleBody) },
    responses: {
      200: versionedJson(d, StartRuleView, 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: notFound,
      412: staleResponse(d),
      422: d.error('Invalid rule'),
    },
  });
  d.path(tag, 'patch', '/start-rules/:id', {
    summary: 'Move a start rule to another place, or (de)activate it (admins; send If-Match)',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(StartRulePatch) },
    responses: {
      200: versionedJson(d, StartRuleView, 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: notFound,
      412: staleResponse(d),
      422: d.error('Invalid change'),
    },
  });
  d.path(tag, 'delete', '/start-rules/:id', {
    summary: 'Delete a start rule (admins; send If-Match); the rules after it move one up',
    request: { params: idParam, headers: IfMatchHeader },
    responses: { 204: { description: 'Deleted' }, ...d.common, 403: d.error('Not an admin'), 404: notFound, 412: staleResponse(d) },
  });
};
