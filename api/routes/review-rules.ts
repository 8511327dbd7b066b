/**
 * Automatic review rules (SPEC 2.3): of the company (its admins write) or of its environment
 * (every company in it; users with the `environment:admin` permission write). Editing a rule
 * makes a new version; reviews record the versions they used, so none is ever deleted: a rule is
 * deactivated instead.
 */
import { and, asc, desc, eq, gt, or } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db } from '../../db/client';
import { companies, reviewRules, reviewRuleVersions } from '../../db/schema';
import { FIELD_TESTS, MAX_PATTERN_LENGTH } from '../../domain/conditions';
import { describeCondition, REVIEW_FIELDS, ruleProblems, type ReviewCondition } from '../../domain/review';
import { currentUser, isUuid, type CurrentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import { checkVersion, etag, expectedVersion, IfMatchHeader, staleResponse, versionedJson } from '../etag';
import { idParam, type ApiDocs } from '../openapi';
import { booleanFilter, decodeCursor, pageOf, pageParams } from '../paging';

/** The permission to write the rules of the whole environment. */
export const ENVIRONMENT_ADMIN = 'environment:admin';

const text = (max: number) => z.string().trim().min(1).max(max);
const Amount = z.string().regex(/^\d{1,15}(\.\d{1,6})?$/, 'must be a number such as "10000.00"');

const ConditionBody = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('field'),
    field: z.enum(REVIEW_FIELDS),
    test: z.enum(FIELD_TESTS),
    value: z.string().max(MAX_PATTERN_LENGTH).optional(),
  }),
  z.strictObject({ kind: z.literal('accountsNeedDimension'), from: text(40), to: text(40), dimension: text(60) }),
  z.strictObject({ kind: z.literal('costCentreIn'), costCentres: z.array(text(60)).min(1).max(100) }),
  z.strictObject({ kind: z.literal('amountNeedsReference'), above: Amount, reference: z.enum(['contractReference', 'orderReference']) }),
]);

export const ReviewRuleBody = z.strictObject({
  scope: z.enum(['company', 'environment']).default('company'),
  name: text(200),
  message: text(500),
  active: z.boolean().default(true),
  applicability: z
    .strictObject({
      vendorIds: z.array(z.uuid()).max(500).optional(),
      documentType: z.enum(['invoice', 'credit_note']).optional(),
      amountFrom: Amount.optional(),
      amountTo: Amount.optional(),
    })
    .default({}),
  conditions: z.array(ConditionBody).min(1).max(50),
});
const ReviewRulePatch = z.strictObject({ active: z.boolean() });
const ReviewRuleQuery = z.strictObject({
  scope: z.enum(['company', 'environment']).optional(),
  active: booleanFilter('Only active (true) or deactivated (false) rules'),
  ...pageParams,
});

const ReviewRuleView = z.object({
  id: z.uuid(),
  scope: z.enum(['company', 'environment']),
  environment: z.string().nullable(),
  version: z.number().int(),
  active: z.boolean(),
  name: z.string(),
  message: z.string(),
  applicability: z.record(z.string(), z.unknown()),
  conditions: z.array(z.unknown()),
  /** The conditions in words. */
  requires: z.array(z.string()),
  createdAt: z.string(),
});

type Rule = typeof reviewRules.$inferSelect;
type Version = typeof reviewRuleVersions.$inferSelect;

function view(rule: Rule, v: Version) {
  return {
    id: rule.id,
    scope: rule.scope,
    environment: rule.environment,
    version: rule.version,
    active: rule.active,
    name: v.name,
    message: v.message,
    applicability: v.applicability,
    conditions: v.conditions,
    requires: v.conditions.map(describeCondition),
    createdAt: rule.createdAt.toISOString(),
  };
}

async function environmentOf(db: Db, user: CurrentUser): Promise<string> {
  const [company] = await db.select({ environment: companies.environment }).from(companies).where(eq(companies.id, user.companyId));
  return company!.environment;
}

/** Who may write a rule of this scope: the company's admins, or the environment's (a permission). */
function mayWrite(user: CurrentUser, scope: Rule['scope']): void {
  const ok = scope === 'company' ? user.roles.includes('admin') : user.permissions.includes(ENVIRONMENT_ADMIN);
  if (!ok)
    throw new ApiError(
      403,
      'forbidden',
      scope === 'company' ? 'This needs the admin role' : `Environment rules need the ${ENVIRONMENT_ADMIN} permission`,
    );
}

/** A rule the user's company sees (its own, or its environment's), with its current version; 404 otherwise. */
async function visibleRule(db: Db, user: CurrentUser, id: string): Promise<{ rule: Rule; v: Version }> {
  if (!isUuid(id)) throw ApiError.notFound('review rule');
  const environment = await environmentOf(db, user);
  const [row] = await db
    .select({ rule: reviewRules, v: reviewRuleVersions })
    .from(reviewRules)
    .innerJoin(reviewRuleVersions, and(eq(reviewRuleVersions.ruleId, reviewRules.id), eq(reviewRuleVersions.version, reviewRules.version)))
    .where(and(eq(reviewRules.id, id), or(eq(reviewRules.companyId, user.companyId), eq(reviewRules.environment, environment))));
  if (!row) throw ApiError.notFound('review rule');
  return row;
}

function checked(body: z.infer<typeof ReviewRuleBody>) {
  const problems = ruleProblems({ applicability: body.applicability, conditions: body.conditions as ReviewCondition[] });
  if (problems.length > 0) throw new ApiError(422, 'validation_failed', 'The review rule is not valid', problems);
}

export function reviewRulesRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/review-rules', async (req, res) => {
    const user = currentUser(res);
    const q = parseOr422(ReviewRuleQuery, req.query, 'query');
    const environment = await environmentOf(db, user);
    const position = decodeCursor(q.cursor);
    const filters = [
      or(
        and(eq(reviewRules.scope, 'company'), eq(reviewRules.companyId, user.companyId)),
        and(eq(reviewRules.scope, 'environment'), eq(reviewRules.environment, environment)),
      ),
    ];
    if (q.scope) filters.push(eq(reviewRules.scope, q.scope));
    if (q.active) filters.push(eq(reviewRules.active, q.active === 'true'));
    if (position) {
      if (!isUuid(position[1])) throw new ApiError(400, 'bad_cursor', 'The cursor is not one this API returned');
      filters.push(gt(reviewRules.id, position[1]));
    }
    const rows = await db
      .select({ rule: reviewRules, v: reviewRuleVersions })
      .from(reviewRules)
      .innerJoin(
        reviewRuleVersions,
        and(eq(reviewRuleVersions.ruleId, reviewRules.id), eq(reviewRuleVersions.version, reviewRules.version)),
      )
      .where(and(...filters))
      .orderBy(asc(reviewRules.id))
      .limit(q.limit + 1);
    const page = pageOf(rows, q.limit, (r) => [r.rule.id, r.rule.id]);
    res.json({ items: page.items.map((r) => view(r.rule, r.v)), nextCursor: page.nextCursor });
  });

  router.get('/review-rules/:id', async (req, res) => {
    const { rule, v } = await visibleRule(db, currentUser(res), req.params.id);
    res.set('ETag', etag(rule.version)).json(view(rule, v));
  });

  router.get('/review-rules/:id/versions', async (req, res) => {
    const { rule } = await visibleRule(db, currentUser(res), req.params.id);
    const versions = await db
      .select()
      .from(reviewRuleVersions)
      .where(eq(reviewRuleVersions.ruleId, rule.id))
      .orderBy(desc(reviewRuleVersions.version));
    res.json({
      items: versions.map((v) => ({
        version: v.version,
        name: v.name,
        message: v.message,
        applicability: v.applicability,
        conditions: v.conditions,
        createdBy: v.createdBy,
        createdAt: v.createdAt,
      })),
      nextCursor: null,
    });
  });

  router.post('/review-rules', async (req, res) => {
    const user = currentUser(res);
    if (!user.roles.includes('admin') && !user.permissions.includes(ENVIRONMENT_ADMIN)) {
      throw new ApiError(
        403,
        'forbidden',
        `Review rules are written by admins (company rules) or with the ${ENVIRONMENT_ADMIN} permission`,
      );
    }
    const body = parseOr422(ReviewRuleBody, req.body, 'review rule');
    mayWrite(user, body.scope);
    checked(body);
    const environment = await environmentOf(db, user);
    const created = await db.transaction(async (tx) => {
      const [rule] = await tx
        .insert(reviewRules)
        .values({
          scope: body.scope,
          companyId: body.scope === 'company' ? user.companyId : null,
          environment: body.scope === 'environment' ? environment : null,
          active: body.active,
        })
        .returning();
      const [v] = await tx
        .insert(reviewRuleVersions)
        .values({
          ruleId: rule!.id,
          version: 1,
          name: body.name,
          message: body.message,
          applicability: body.applicability,
          conditions: body.conditions as ReviewCondition[],
          createdBy: user.id,
        })
        .returning();
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'review_rule_created',
        message: `Review rule "${body.name}" created (${body.scope})`,
        data: { ruleId: rule!.id },
      });
      return { rule: rule!, v: v! };
    });
    res.status(201).location(`/api/v1/review-rules/${created.rule.id}`).set('ETag', etag(1)).json(view(created.rule, created.v));
  });

  router.put('/review-rules/:id', async (req, res) => {
    const user = currentUser(res);
    const expected = expectedVersion(req);
    const { rule } = await visibleRule(db, user, req.params.id);
    mayWrite(user, rule.scope);
    checkVersion(expected, rule.version);
    const body = parseOr422(ReviewRuleBody, req.body, 'review rule');
    if (body.scope !== rule.scope)
      throw new ApiError(422, 'validation_failed', 'The review rule is not valid', [{ path: 'scope', message: 'a rule keeps its scope' }]);
    checked(body);
    const saved = await db.transaction(async (tx) => {
      // A new version, guarded by the one the editor saw: two editors cannot both win.
      const [bumped] = await tx
        .update(reviewRules)
        .set({ version: rule.version + 1, active: body.active })
        .where(and(eq(reviewRules.id, rule.id), eq(reviewRules.version, expected ?? rule.version)))
        .returning();
      if (!bumped) throw new ApiError(412, 'stale_version', 'It was changed meanwhile; reload it and apply your change again');
      const [v] = await tx
        .insert(reviewRuleVersions)
        .values({
          ruleId: rule.id,
          version: bumped.version,
          name: body.name,
          message: body.message,
          applicability: body.applicability,
          conditions: body.conditions as ReviewCondition[],
          createdBy: user.id,
        })
        .returning();
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'review_rule_changed',
        message: `Review rule "${body.name}" changed: version ${bumped.version}`,
        data: { ruleId: rule.id, version: bumped.version },
      });
      return { rule: bumped, v: v! };
    });
    res.set('ETag', etag(saved.rule.version)).json(view(saved.rule, saved.v));
  });

  router.patch('/review-rules/:id', async (req, res) => {
    const user = currentUser(res);
    const expected = expectedVersion(req);
    const { rule, v } = await visibleRule(db, user, req.params.id);
    mayWrite(user, rule.scope);
    checkVersion(expected, rule.version);
    const body = parseOr422(ReviewRulePatch, req.body, 'review rule');
    const [updated] = await db.update(reviewRules).set({ active: body.active }).where(eq(reviewRules.id, rule.id)).returning();
    await audit(db, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'review_rule_changed',
      message: `Review rule "${v.name}" ${body.active ? 'activated' : 'deactivated'}`,
      data: { ruleId: rule.id },
    });
    res.set('ETag', etag(updated!.version)).json(view(updated!, v));
  });

  return router;
}

export const reviewRulesDocs: ApiDocs = (d) => {
  const tag = 'Review rules';
  d.path(tag, 'get', '/review-rules', {
    summary: "The company's and its environment's review rules",
    request: { query: ReviewRuleQuery },
    responses: { 200: d.page(ReviewRuleView), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'get', '/review-rules/:id', {
    summary: 'One rule, its current version',
    request: { params: idParam },
    responses: { 200: versionedJson(d, ReviewRuleView, 'The rule'), ...d.common, 404: d.error('Unknown or not visible') },
  });
  d.path(tag, 'get', '/review-rules/:id/versions', {
    summary: 'Every version of a rule, newest first',
    request: { params: idParam },
    responses: { 200: d.page(), ...d.common, 404: d.error('Unknown or not visible') },
  });
  d.path(tag, 'post', '/review-rules', {
    summary: 'Create a rule (company: admins; environment: environment:admin permission)',
    request: { body: d.body(ReviewRuleBody) },
    responses: {
      201: versionedJson(d, ReviewRuleView, 'Created'),
      ...d.common,
      403: d.error('Not allowed to write rules of this scope'),
      422: d.error('Invalid rule (e.g. a pattern that could backtrack catastrophically)'),
    },
  });
  d.path(tag, 'put', '/review-rules/:id', {
    summary: 'Change a rule: a new version',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(ReviewRuleBody) },
    responses: {
      200: versionedJson(d, ReviewRuleView, 'The new version'),
      ...d.common,
      403: d.error('Not allowed'),
      404: d.error('Unknown or not visible'),
      412: staleResponse(d),
      422: d.error('Invalid rule'),
    },
  });
  d.path(tag, 'patch', '/review-rules/:id', {
    summary: 'Activate or deactivate a rule (rules are never deleted: reviews name their versions)',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(ReviewRulePatch) },
    responses: {
      200: versionedJson(d, ReviewRuleView, 'Changed'),
      ...d.common,
      403: d.error('Not allowed'),
      404: d.error('Unknown or not visible'),
      412: staleResponse(d),
    },
  });
};
