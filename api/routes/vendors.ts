import { and, asc, eq, ilike, ne, or, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import { sqlState } from '../../activities/failures';
import type { Db } from '../../db/client';
import { codingTemplates, flowTemplates, vendors } from '../../db/schema';
import { currentUser, findOwned, requireAdmin } from '../auth';
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
import { after, containing, decodeCursor, pageOf, pageParams } from '../paging';
import { VendorPatchBody as VendorDefaultsBody } from '../schemas';

type Vendor = typeof vendors.$inferSelect;

const text = (max: number) => z.string().trim().min(1).max(max);

/** A vendor's changes: any of its fields; null clears an optional one. */
export const VendorPatchBody = VendorDefaultsBody.extend({
  name: text(200).optional(),
  vatNumber: text(50).nullable().optional(),
  endpointId: text(100).nullable().optional().openapi({ description: 'Peppol endpoint id, schemeID:value', example: '0088:5790000435951' }),
});
export const VendorBody = VendorPatchBody.required({ name: true });

export const VendorListQuery = z.strictObject({
  q: text(200).optional().openapi({ description: 'Name contains (case-insensitive), or VAT number or endpoint id equals' }),
  flowTemplateId: z.uuid().optional(),
  codingTemplateId: z.uuid().optional(),
  ...pageParams,
});

const VendorView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    vatNumber: z.string().nullable(),
    endpointId: z.string().nullable(),
    email: z.string().nullable(),
    flowTemplateId: z.uuid().nullable(),
    codingTemplateId: z.uuid().nullable(),
    version: z.number().int().openapi({ description: 'Grows with every change; the ETag is "v<version>"' }),
  })
  .openapi('Vendor');

/** Vendors: everyone of the company reads and searches them, admins create and edit them (audited). */
export function vendorsRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/vendors', async (req, res) => {
    const user = currentUser(res);
    const query = parseOr422(VendorListQuery, req.query, 'query');
    const position = decodeCursor(query.cursor);
    const where: SQL[] = [eq(vendors.companyId, user.companyId)];
    if (query.q) where.push(or(ilike(vendors.name, containing(query.q)), eq(vendors.vatNumber, query.q), eq(vendors.endpointId, query.q))!);
    if (query.flowTemplateId) where.push(eq(vendors.flowTemplateId, query.flowTemplateId));
    if (query.codingTemplateId) where.push(eq(vendors.codingTemplateId, query.codingTemplateId));
    if (position) where.push(after(vendors.name, vendors.id, position));
    const rows = await db
      .select()
      .from(vendors)
      .where(and(...where))
      .orderBy(asc(vendors.name), asc(vendors.id))
      .limit(query.limit + 1);
    const page = pageOf(rows, query.limit, (v) => [v.name, v.id]);
    res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
  });

  router.get('/vendors/:id', async (req, res) => {
    const vendor = await findOwned(db, vendors, currentUser(res).companyId, req.params.id, 'vendor');
    res.set('ETag', etag(vendor.version)).json(view(vendor));
  });

  router.post('/vendors', async (req, res) => {
    const user = requireAdmin(res);
    const body = parseOr422(VendorBody, req.body, 'vendor');
    await checkTemplates(db, user.companyId, body);
    const created = await db
      .transaction(async (tx) => {
        const [row] = await tx
          .insert(vendors)
          .values({ companyId: user.companyId, ...body })
          .returning();
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'vendor_created',
          message: `Vendor "${row!.name}" created`,
          data: view(row!),
        });
        return row!;
      })
      .catch(async (err: unknown) => {
        throw (await duplicateOf(db, err, user.companyId, body)) ?? err;
      });
    res.status(201).location(`/api/v1/vendors/${created.id}`).set('ETag', etag(created.version)).json(view(created));
  });

  router.patch('/vendors/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await findOwned(db, vendors, user.companyId, req.params.id, 'vendor');
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(VendorPatchBody, req.body, 'vendor');
    await checkTemplates(db, user.companyId, body, existing);
    if (Object.keys(body).length === 0) {
      res.set('ETag', etag(existing.version)).json(view(existing));
      return;
    }
    const updated = await db
      .transaction(async (tx) => {
        const key = eq(vendors.id, existing.id);
        const [row] = await tx
          .update(vendors)
          .set({ ...body, version: nextVersion(vendors.version) })
          .where(and(key, atVersion(vendors.version, expected)))
          .returning();
        if (!row) throw await notWritten(tx, vendors, key, 'vendor');
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'vendor_changed',
          message: `Vendor "${existing.name}" changed`,
          data: { before: view(existing), after: view(row) },
        });
        return row;
      })
      .catch(async (err: unknown) => {
        throw (await duplicateOf(db, err, user.companyId, body, existing.id)) ?? err;
      });
    res.set('ETag', etag(updated.version)).json(view(updated));
  });

  return router;
}

function view(v: Vendor) {
  return {
    id: v.id,
    name: v.name,
    vatNumber: v.vatNumber,
    endpointId: v.endpointId,
    email: v.email,
    flowTemplateId: v.flowTemplateId,
    codingTemplateId: v.codingTemplateId,
    version: v.version,
  };
}

/**
 * The templates a vendor names must be the company's; a coding template newly named must be
 * active (an inactive one is applied to nothing new, so naming it would silently mean the default).
 */
async function checkTemplates(
  db: Db,
  companyId: string,
  body: { flowTemplateId?: string | null | undefined; codingTemplateId?: string | null | undefined },
  existing?: Vendor,
): Promise<void> {
  const details: { path: string; message: string }[] = [];
  if (body.flowTemplateId) {
    const [flow] = await db
      .select({ id: flowTemplates.id })
      .from(flowTemplates)
      .where(and(eq(flowTemplates.id, body.flowTemplateId), eq(flowTemplates.companyId, companyId)));
    if (!flow) details.push({ path: 'flowTemplateId', message: 'no such flow template' });
  }
  if (body.codingTemplateId) {
    const [coding] = await db
      .select()
      .from(codingTemplates)
      .where(and(eq(codingTemplates.id, body.codingTemplateId), eq(codingTemplates.companyId, companyId)));
    if (!coding) details.push({ path: 'codingTemplateId', message: 'no such coding template' });
    else if (!coding.active && coding.id !== existing?.codingTemplateId) {
      details.push({
        path: 'codingTemplateId',
        message: `the coding template "${coding.name}" is inactive and is applied to no new invoice; reactivate it or choose an active one`,
      });
    }
  }
  if (details.length > 0) throw new ApiError(422, 'validation_failed', 'The vendor is not valid', details);
}

/** 409 naming the vendor that already has this VAT number or endpoint id (the unique indexes said so), or undefined for other errors. */
async function duplicateOf(
  db: Db,
  err: unknown,
  companyId: string,
  body: { vatNumber?: string | null | undefined; endpointId?: string | null | undefined },
  selfId?: string,
): Promise<ApiError | undefined> {
  if (sqlState(err) !== '23505') return undefined;
  const same = [
    body.vatNumber ? eq(vendors.vatNumber, body.vatNumber) : undefined,
    body.endpointId ? eq(vendors.endpointId, body.endpointId) : undefined,
  ].filter((c) => c !== undefined);
  const others =
    same.length === 0
      ? []
      : await db
          .select()
          .from(vendors)
          .where(and(eq(vendors.companyId, companyId), or(...same), selfId ? ne(vendors.id, selfId) : undefined));
  const details = others.map((v) => {
    const path = body.vatNumber && v.vatNumber === body.vatNumber ? 'vatNumber' : 'endpointId';
    return { existingId: v.id, path, message: `vendor "${v.name}" has this ${path === 'vatNumber' ? 'VAT number' : 'endpoint id'}` };
  });
  const names = others.map((v) => `"${v.name}"`).join(' and ');
  return new ApiError(
    409,
    'duplicate_vendor',
    names ? `Vendor ${names} already has this VAT number or endpoint id` : 'Another vendor has this VAT number or endpoint id',
    details,
  );
}

/** The vendor routes in the OpenAPI document. */
export const vendorsDocs: ApiDocs = (d) => {
  const tag = 'Vendors';
  d.path(tag, 'get', '/vendors', {
    summary: "The company's vendors by name; q searches the name, VAT number and endpoint id",
    request: { query: VendorListQuery },
    responses: { 200: d.page(VendorView), 400: d.error('Bad cursor'), ...d.common, 422: d.error('Invalid query') },
  });
  d.path(tag, 'get', '/vendors/:id', {
    summary: 'One vendor',
    request: { params: idParam },
    responses: { 200: versionedJson(d, VendorView, 'The vendor'), ...d.common, 404: d.error('Unknown or of another company') },
  });
  d.path(tag, 'post', '/vendors', {
    summary: 'Create a vendor (admins), with its default flow and coding templates',
    request: { body: d.body(VendorBody) },
    responses: {
      201: versionedJson(d, VendorView, 'Created (Location: its URL)'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('duplicate_vendor: another vendor has the VAT number or endpoint id (details: existingId)'),
      422: d.error('Invalid vendor, unknown template or an inactive coding template'),
    },
  });
  d.path(tag, 'patch', '/vendors/:id', {
    summary: 'Change a vendor (admins): name, identifiers, e-mail, default templates (null clears); send If-Match',
    request: { params: idParam, headers: IfMatchHeader, body: d.body(VendorPatchBody) },
    responses: {
      200: versionedJson(d, VendorView, 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: d.error('Unknown or of another company'),
      409: d.error('duplicate_vendor: another vendor has the VAT number or endpoint id (details: existingId)'),
      412: staleResponse(d),
      422: d.error('Invalid change, unknown template or an inactive coding template'),
    },
  });
};
