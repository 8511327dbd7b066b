import { and, asc, eq, ilike, ne, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import { sqlState } from '../../activities/failures';
import type { Db, Tx } from '../../db/client';
import { agreements, codingTemplates, vendors } from '../../db/schema';
import { codingTemplateProblems } from '../../domain/coding';
import { currentUser, isUuid, requireAdmin } from '../auth';
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

type CodingTemplate = typeof codingTemplates.$inferSelect;

const text = (max: number) => z.string().trim().min(1).max(max);
const PERCENT = /^\d{1,3}(\.\d{1,6})?$/;

const CodingTemplateRowBody = z.strictObject({
  account: text(50),
  percent: z
    .string()
    .regex(PERCENT, 'must be a percentage with at most 6 decimals, such as "33.333333"')
    .openapi({ description: 'Share of the net amount, in percent', example: '60' }),
  dimensions: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'a dimension name such as "costCentre" or "project"'), text(100))
    .refine((d) => Object.keys(d).length <= 20, 'at most 20 dimensions')
    .optional()
    .openapi({ example: { costCentre: 'CC-100', project: 'P-7' } }),
  taxCode: text(20).optional(),
});

/** A coding template as created or replaced: rows as percentages of net summing to exactly 100 %, plus the tax coding. */
export const CodingTemplateBody = z
  .strictObject({
    name: text(200),
    isDefault: z.boolean().default(false),
    rows: z.array(CodingTemplateRowBody).min(1).max(100),
    taxAccount: text(50),
    taxCode: text(20).nullable().optional(),
  })
  .superRefine((t, ctx) => {
    // Refinements run on input with issues too: judge only well-formed percentages (the others have their own issue).
    const rows: unknown[] = Array.isArray(t.rows) ? t.rows : [];
    const percents = rows.map((r) => (r as { percent?: unknown } | undefined)?.percent);
    percents.forEach((p, i) => {
      if (typeof p === 'string' && /^0+(\.0+)?$/.test(p))
        ctx.addIssue({ code: 'custom', path: ['rows', i, 'percent'], message: 'must be more than 0' });
    });
    if (rows.length === 0 || !percents.every((p): p is string => typeof p === 'string' && PERCENT.test(p))) return;
    const shares = percents.map((p, i) => `row ${i + 1} ${p}%`).join(', ');
    for (const problem of codingTemplateProblems({ rows: percents.map((percent) => ({ account: '-', percent })), taxAccount: '-' })) {
      ctx.addIssue({ code: 'custom', path: ['rows'], message: `${problem} (${shares})` });
    }
  });

export const CodingTemplatePatchBody = z.strictObject({
  active: z.boolean().openapi({ description: 'false: applied to nothing new; true: in use again' }),
});

export const CodingTemplateListQuery = z.strictObject({
  active: booleanFilter('Only active (true) or inactive (false) templates'),
  q: text(200).optional().openapi({ description: 'Name contains (case-insensitive)' }),
  ...pageParams,
});

const CodingTemplateView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    isDefault: z.boolean(),
    active: z.boolean(),
    rows: z.array(CodingTemplateRowBody),
    taxAccount: z.string(),
    taxCode: z.string().nullable(),
    version: z.number().int().openapi({ description: 'Grows with every change; the ETag is "v<version>"' }),
  })
  .openapi('CodingTemplate');

/** Coding templates: everyone of the company reads them, admins write them (audited). */
export function codingTemplatesRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/coding-templates', async (req, res) => {
    const user = currentUser(res);
    const query = parseOr422(CodingTemplateListQuery, req.query, 'query');
    const position = decodeCursor(query.cursor);
    const where: SQL[] = [eq(codingTemplates.companyId, user.companyId)];
    if (query.active !== undefined) where.push(eq(codingTemplates.active, query.active === 'true'));
    if (query.q) where.push(ilike(codingTemplates.name, containing(query.q)));
    if (position) where.push(after(codingTemplates.name, codingTemplates.id, position));
    const rows = await db
      .select()
      .from(codingTemplates)
      .where(and(...where))
      .orderBy(asc(codingTemplates.name), asc(codingTemplates.id))
      .limit(query.limit + 1);
    const page = pageOf(rows, query.limit, (t) => [t.name, t.id]);
    res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
  });

  router.get('/coding-templates/:id', async (req, res) => {
    const template = await findTemplate(db, currentUser(res).companyId, req.params.id);
    res.set('ETag', etag(template.version)).json(view(template));
  });

  router.post('/coding-templates', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(CodingTemplateBody, req.body, 'coding template');
    const created = await db.transaction(async (tx) => {
      if (body.isDefault) await dropDefault(tx, user.companyId);
      const [row] = await tx
        .insert(codingTemplates)
        .values({ companyId: user.companyId, ...columns(body) })
        .onConflictDoNothing()
        .returning();
      if (!row) throw nameTaken(body.name);
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'coding_template_created',
        message: `Coding template "${row.name}" created`,
        data: view(row),
      });
      return row;
    });
    res.status(201).location(`/api/v1/coding-templates/${created.id}`).set('ETag', etag(created.version)).json(view(created));
  });

  router.put('/coding-templates/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findTemplate(db, user.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(CodingTemplateBody, req.body, 'coding template');
    if (body.isDefault && !existing.active) {
      throw new ApiError(422, 'validation_failed', 'The coding template is not valid', [
        { path: 'isDefault', message: 'an inactive template cannot be the default; reactivate it first (PATCH {"active": true})' },
      ]);
    }
    const updated = await db
      .transaction(async (tx) => {
        if (body.isDefault) await dropDefault(tx, user.companyId, existing.id);
        const key = eq(codingTemplates.id, existing.id);
        const [row] = await tx
          .update(codingTemplates)
          .set({ ...columns(body), version: nextVersion(codingTemplates.version) })
          .where(and(key, atVersion(codingTemplates.version, expected)))
          .returning();
        if (!row) throw await notWritten(tx, codingTemplates, key, 'coding template');
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'coding_template_changed',
          message: `Coding template "${existing.name}" changed`,
          data: { before: view(existing), after: view(row) },
        });
        return row;
      })
      .catch((err: unknown) => {
        throw sqlState(err) === '23505' ? nameTaken(body.name) : err;
      });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  router.patch('/coding-templates/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findTemplate(db, user.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(CodingTemplatePatchBody, req.body, 'coding template');
    if (!body.active && existing.isDefault) {
      throw new ApiError(
        409,
        'is_default',
        `"${existing.name}" is the company's default coding template and cannot be deactivated; make another template the default first`,
      );
    }
    const updated = await db.transaction(async (tx) => {
      const key = eq(codingTemplates.id, existing.id);
      const [row] = await tx
        .update(codingTemplates)
        .set({ active: body.active, version: nextVersion(codingTemplates.version) })
        .where(and(key, atVersion(codingTemplates.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, codingTemplates, key, 'coding template');
      if (existing.active !== body.active) {
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: body.active ? 'coding_template_reactivated' : 'coding_template_deactivated',
          message: `Coding template "${existing.name}" ${body.active ? 'reactivated' : 'deactivated'}`,
          data: { id: existing.id },
        });
      }
      return row;
    });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  router.delete('/coding-templates/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findTemplate(db, user.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    if (existing.isDefault) {
      throw new ApiError(
        409,
        'is_default',
        `"${existing.name}" is the company's default coding template; make another template the default before deleting it`,
      );
    }
    const advice =
      'deactivate it instead (PATCH {"active": false}): the vendors\' new invoices then get the company default coding and the agreements stop matching';
    await db
      .transaction(async (tx) => {
        const users = await templateUsers(tx, 'coding', existing.id);
        if (users.agreements.length + users.vendors.length > 0) throw inUse('coding template', existing.name, users, advice);
        const key = eq(codingTemplates.id, existing.id);
        const [gone] = await tx
          .delete(codingTemplates)
          .where(and(key, atVersion(codingTemplates.version, expected)))
          .returning({ id: codingTemplates.id });
        if (!gone) throw await notWritten(tx, codingTemplates, key, 'coding template');
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'coding_template_deleted',
          message: `Coding template "${existing.name}" deleted`,
          data: view(existing),
        });
      })
      .catch(async (err: unknown) => {
        // An agreement or vendor took it up meanwhile (foreign key): say who.
        if (sqlState(err) === '23503')
          throw inUse('coding template', existing.name, await templateUsers(db, 'coding', existing.id), advice);
        throw err;
      });
    res.status(204).end();
  });

  return router;
}

/** The company's default stops being it (a new version of it: its view changes), but for `keep`. */
async function dropDefault(tx: Tx, companyId: string, keep?: string): Promise<void> {
  await tx
    .update(codingTemplates)
    .set({ isDefault: false, version: nextVersion(codingTemplates.version) })
    .where(
      and(eq(codingTemplates.companyId, companyId), eq(codingTemplates.isDefault, true), keep ? ne(codingTemplates.id, keep) : undefined),
    );
}

function columns(body: z.infer<typeof CodingTemplateBody>) {
  return {
    name: body.name,
    isDefault: body.isDefault,
    rows: body.rows.map((r) => ({
      account: r.account,
      percent: r.percent,
      ...(r.dimensions ? { dimensions: r.dimensions } : {}),
      ...(r.taxCode ? { taxCode: r.taxCode } : {}),
    })),
    taxAccount: body.taxAccount,
    taxCode: body.taxCode ?? null,
  };
}

function view(t: CodingTemplate) {
  return {
    id: t.id,
    name: t.name,
    isDefault: t.isDefault,
    active: t.active,
    rows: t.rows,
    taxAccount: t.taxAccount,
    taxCode: t.taxCode,
    version: t.version,
  };
}

function nameTaken(name: string): ApiError {
  return new ApiError(409, 'name_taken', `A coding template named "${name}" exists already`);
}

async function findTemplate(db: Db, companyId: string, id: string): Promise<CodingTemplate> {
  if (!isUuid(id)) throw ApiError.notFound('coding template');
  const [row] = await db
    .select()
    .from(codingTemplates)
    .where(and(eq(codingTemplates.id, id), eq(codingTemplates.companyId, companyId)));
  if (!row) throw ApiError.notFound('coding template');
  return row;
}

/** What refers to a template: agreements (by id) and vendors (by name). */
export interface TemplateUsers {
  agreements: { id: string; active: boolean }[];
  vendors: { id: string; name: string }[];
}

/** The agreements and vendors that name a coding or flow template. */
export async function templateUsers(db: Db | Tx, kind: 'coding' | 'flow', templateId: string): Promise<TemplateUsers> {
  const [byAgreement, byVendor] =
    kind === 'coding' ? [agreements.codingTemplateId, vendors.codingTemplateId] : [agreements.flowTemplateId, vendors.flowTemplateId];
  return {
    agreements: await db
      .select({ id: agreements.id, active: agreements.active })
      .from(agreements)
      .where(eq(byAgreement, templateId))
      .orderBy(asc(agreements.createdAt)),
    vendors: await db
      .select({ id: vendors.id, name: vendors.name })
      .from(vendors)
      .where(eq(byVendor, templateId))
      .orderBy(asc(vendors.name)),
  };
}

/** 409 `in_use`: who uses the template (every one in `details`, the first few in the message) and what to do instead. */
export function inUse(noun: string, name: string, users: TemplateUsers, advice: string): ApiError {
  const few = (items: string[]) => (items.length > 5 ? `${items.slice(0, 5).join(', ')} and ${items.length - 5} more` : items.join(', '));
  const parts = [
    users.agreements.length > 0
      ? `${users.agreements.length} agreement${users.agreements.length === 1 ? '' : 's'} (${few(users.agreements.map((a) => a.id))})`
      : '',
    users.vendors.length > 0
      ? `${users.vendors.length} vendor${users.vendors.length === 1 ? '' : 's'} (${few(users.vendors.map((v) => v.name))})`
      : '',
  ].filter(Boolean);
  return new ApiError(409, 'in_use', `The ${noun} "${name}" is used by ${parts.join(' and ')}; ${advice}`, [
    ...users.agreements.map((a) => ({ kind: 'agreement', id: a.id, active: a.active })),
    ...users.vendors.map((v) => ({ kind: 'vendor', id: v.id, name: v.name })),
  ]);
}

/** The coding-template routes in the OpenAPI document. */
export const codingTemplatesDocs: ApiDocs = (d) => {
  const tag = 'Coding templates';
  d.path(tag, 'get', '/coding-templates', {
    summary: "The company's coding templates by name, filtered by active flag and name",
    request: { query: CodingTemplateListQuery },
    responses: { 200: d.page(CodingTemplateView), 400: d.error('Bad cursor'), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'get', '/coding-templates/:id', {
    summary: 'One coding template',
    request: { params: idParam },
    responses: { 200: versionedJson(d, CodingTemplateView, 'The template'), ...d.common, 404: d.error('Unknown or of another company') },
  });
  d.path(tag, 'post', '/coding-templates', {
    summary: 'Create a coding template (admins); isDefault makes it the only default',
    request: { body: d.body(CodingTemplateBody) },
    responses: {
      201: versionedJson(d, CodingTemplateView, 'Created (Location: its URL)'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('name_taken'),
      422: d.error('Invalid template, e.g. percentages not adding up to 100; details name the rows and the total'),
    },
  });
  d.path(tag, 'put', '/coding-templates/:id', {
    summary: 'Replace a coding template (admins; send If-Match); invoices already coded keep their rows',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(CodingTemplateBody) },
    responses: {
      200: versionedJson(d, CodingTemplateView, 'Replaced'),
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or of another company'),
      409: d.error('name_taken'),
      412: staleResponse(d),
      422: d.error('Invalid template'),
    },
  });
  d.path(tag, 'patch', '/coding-templates/:id', {
    summary:
      'Deactivate or reactivate (admins; send If-Match): an inactive template is applied to no new invoice; the default cannot be deactivated',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(CodingTemplatePatchBody) },
    responses: {
      200: versionedJson(d, CodingTemplateView, 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or of another company'),
      409: d.error('is_default: the default cannot be deactivated'),
      412: staleResponse(d),
      422: d.error('Invalid body'),
    },
  });
  d.path(tag, 'delete', '/coding-templates/:id', {
    summary: 'Delete an unused coding template (admins; send If-Match)',
    request: { params: idParam, headers: IfMatchHeader },
    responses: {
      204: { description: 'Deleted' },
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or of another company'),
      409: d.error('in_use (details: the agreements and vendors using it; deactivate it instead) or is_default'),
      412: staleResponse(d),
    },
  });
};
