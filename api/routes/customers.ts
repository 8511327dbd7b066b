/**
 * Customers and products of the company as seller (SPEC 2.5): everyone of the company reads them;
 * clerks and admins create and change them (If-Match on changes); admins delete one that no sales
 * invoice names (otherwise 409: deactivate it instead).
 */
import { and, asc, count, eq, ilike, or, type SQL } from 'drizzle-orm';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import { sqlState } from '../../activities/failures';
import type { Db } from '../../db/client';
import { customers, products, salesInvoiceLines, salesInvoices } from '../../db/schema';
import { PAYMENT_TERMS } from '../../domain/sales-terms';
import { currentUser, isUuid, requireAdmin, type CurrentUser } from '../auth';
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
import { Decimal, line, name, Percent } from '../schemas';

const Account = line(20).openapi({ example: '1500' });

export const CustomerPatchBody = z.strictObject({
  name: name(200).optional(),
  vatNumber: line(50).nullable().optional(),
  endpointId: line(100).nullable().optional().openapi({ description: 'Peppol endpoint id, schemeID:value' }),
  email: z.email().max(254).nullable().optional(),
  paymentTerms: z
    .enum(PAYMENT_TERMS)
    .optional()
    .openapi({ description: 'cash_sales_only: invoices are posted one at a time with their payment (post and pay)' }),
  receivableAccount: Account.nullable().optional().openapi({ description: "null: the company's receivable account" }),
  active: z.boolean().optional(),
});
export const CustomerBody = CustomerPatchBody.required({ name: true });

const UnitPrice = Decimal.refine((v) => !v.startsWith('-'), 'must not be negative');

export const ProductPatchBody = z.strictObject({
  sku: line(100).optional(),
  name: name(200).optional(),
  unitPrice: UnitPrice.nullable().optional(),
  taxRate: Percent.optional(),
  revenueAccount: Account.nullable().optional().openapi({ description: "null: the sales settings' revenue account" }),
  createsCustomerItem: z
    .boolean()
    .optional()
    .openapi({ description: 'A sale creates a customer item: an asset or subscription the customer owns afterwards' }),
  requiresSerialNumbers: z.boolean().optional().openapi({ description: 'Each unit sold needs its serial number before posting' }),
  active: z.boolean().optional(),
});
export const ProductBody = ProductPatchBody.required({ sku: true, name: true });

const ListQuery = z.strictObject({
  q: line(200).optional().openapi({ description: 'Name contains (case-insensitive), or identifier equals' }),
  active: booleanFilter('Only active (true) or inactive (false) ones'),
  ...pageParams,
});

const CustomerView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    vatNumber: z.string().nullable(),
    endpointId: z.string().nullable(),
    email: z.string().nullable(),
    paymentTerms: z.enum(PAYMENT_TERMS),
    receivableAccount: z.string().nullable(),
    active: z.boolean(),
    version: z.number().int(),
  })
  .openapi('Customer');

const ProductView = z
  .object({
    id: z.uuid(),
    sku: z.string(),
    name: z.string(),
    unitPrice: z.string().nullable(),
    taxRate: z.string(),
    revenueAccount: z.string().nullable(),
    createsCustomerItem: z.boolean(),
    requiresSerialNumbers: z.boolean(),
    active: z.boolean(),
    version: z.number().int(),
  })
  .openapi('Product');

type Customer = typeof customers.$inferSelect;
type Product = typeof products.$inferSelect;

/** Creating and changing sales master data: clerks (who invoice) and admins. */
export function requireSalesClerk(res: Response): CurrentUser {
  const user = currentUser(res);
  if (!user.roles.includes('clerk') && !user.roles.includes('admin')) {
    throw new ApiError(403, 'forbidden', 'This needs the clerk or the admin role');
  }
  return user;
}

const customerView = (c: Customer): z.infer<typeof CustomerView> => ({
  id: c.id,
  name: c.name,
  vatNumber: c.vatNumber,
  endpointId: c.endpointId,
  email: c.email,
  paymentTerms: c.paymentTerms,
  receivableAccount: c.receivableAccount,
  active: c.active,
  version: c.version,
});

const productView = (p: Product): z.infer<typeof ProductView> => ({
  id: p.id,
  sku: p.sku,
  name: p.name,
  unitPrice: p.unitPrice,
  taxRate: p.taxRate,
  revenueAccount: p.revenueAccount,
  createsCustomerItem: p.createsCustomerItem,
  requiresSerialNumbers: p.requiresSerialNumbers,
  active: p.active,
  version: p.version,
});

/** One customer of the company, or 404 (another company's is not there for the caller). */
export async function ownedCustomer(db: Db, companyId: string, id: string): Promise<Customer> {
  if (!isUuid(id)) throw ApiError.notFound('customer');
  const [row] = await db
    .select()
    .from(customers)
    .where(and(eq(customers.id, id), eq(customers.companyId, companyId)));
  if (!row) throw ApiError.notFound('customer');
  return row;
}

async function ownedProduct(db: Db, companyId: string, id: string): Promise<Product> {
  if (!isUuid(id)) throw ApiError.notFound('product');
  const [row] = await db
    .select()
    .from(products)
    .where(and(eq(products.id, id), eq(products.companyId, companyId)));
  if (!row) throw ApiError.notFound('product');
  return row;
}

export function customersRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/customers', async (req, res) => {
    const user = currentUser(res);
    const query = parseOr422(ListQuery, req.query, 'query');
    const position = decodeCursor(query.cursor);
    const where: SQL[] = [eq(customers.companyId, user.companyId)];
    if (query.q)
      where.push(or(ilike(customers.name, containing(query.q)), eq(customers.vatNumber, query.q), eq(customers.endpointId, query.q))!);
    if (query.active) where.push(eq(customers.active, query.active === 'true'));
    if (position) where.push(after(customers.name, customers.id, position));
    const rows = await db
      .select()
      .from(customers)
      .where(and(...where))
      .orderBy(asc(customers.name), asc(customers.id))
      .limit(query.limit + 1);
    const page = pageOf(rows, query.limit, (c) => [c.name, c.id]);
    res.json({ items: page.items.map(customerView), nextCursor: page.nextCursor });
  });

  router.get('/customers/:id', async (req, res) => {
    const customer = await ownedCustomer(db, currentUser(res).companyId, req.params.id);
    res.set('ETag', etag(customer.version)).json(customerView(customer));
  });

  router.post('/customers', async (req, res) => {
    const user = requireSalesClerk(res);
    const body = parseOr422(CustomerBody, req.body, 'customer');
    const created = await db
      .transaction(async (tx) => {
        const [row] = await tx
          .insert(customers)
          .values({ companyId: user.companyId, ...body })
          .returning();
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'customer_created',
          message: `Customer "${row!.name}" created`,
        });
        return row!;
      })
      .catch((err: unknown) => {
        throw duplicate(err, 'customer', 'Another customer has this VAT number or endpoint id') ?? err;
      });
    res.status(201).location(`/api/v1/customers/${created.id}`).set('ETag', etag(created.version)).json(customerView(created));
  });

  router.patch('/customers/:id', async (req, res) => {
    const user = requireSalesClerk(res);
    const existing = await ownedCustomer(db, user.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(CustomerPatchBody, req.body, 'customer');
    const updated = await db
      .transaction(async (tx) => {
        const key = eq(customers.id, existing.id);
        const [row] = await tx
          .update(customers)
          .set({ ...body, version: nextVersion(customers.version) })
          .where(and(key, atVersion(customers.version, expected)))
          .returning();
        if (!row) throw await notWritten(tx, customers, key, 'customer');
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'customer_changed',
          message: `Customer "${existing.name}" changed`,
          data: { before: customerView(existing), after: customerView(row) },
        });
        return row;
      })
      .catch((err: unknown) => {
        throw duplicate(err, 'customer', 'Another customer has this VAT number or endpoint id') ?? err;
      });
    res.set('ETag', etag(updated.version)).json(customerView(updated));
  });

  router.delete('/customers/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await ownedCustomer(db, user.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    await db.transaction(async (tx) => {
      const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(salesInvoices).where(eq(salesInvoices.customerId, existing.id));
      if (n > 0) throw inUse(n, 'customer', existing.id);
      const key = eq(customers.id, existing.id);
      const [gone] = await tx
        .delete(customers)
        .where(and(key, atVersion(customers.version, expected)))
        .returning({ id: customers.id });
      if (!gone) throw await notWritten(tx, customers, key, 'customer');
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'customer_deleted',
        message: `Customer "${existing.name}" deleted`,
      });
    });
    res.status(204).end();
  });

  router.get('/products', async (req, res) => {
    const user = currentUser(res);
    const query = parseOr422(ListQuery, req.query, 'query');
    const position = decodeCursor(query.cursor);
    const where: SQL[] = [eq(products.companyId, user.companyId)];
    if (query.q) where.push(or(ilike(products.name, containing(query.q)), eq(products.sku, query.q))!);
    if (query.active) where.push(eq(products.active, query.active === 'true'));
    if (position) where.push(after(products.name, products.id, position));
    const rows = await db
      .select()
      .from(products)
      .where(and(...where))
      .orderBy(asc(products.name), asc(products.id))
      .limit(query.limit + 1);
    const page = pageOf(rows, query.limit, (p) => [p.name, p.id]);
    res.json({ items: page.items.map(productView), nextCursor: page.nextCursor });
  });

  router.get('/products/:id', async (req, res) => {
    const product = await ownedProduct(db, currentUser(res).companyId, req.params.id);
    res.set('ETag', etag(product.version)).json(productView(product));
  });

  router.post('/products', async (req, res) => {
    const user = requireSalesClerk(res);
    const body = parseOr422(ProductBody, req.body, 'product');
    const created = await db
      .transaction(async (tx) => {
        const [row] = await tx
          .insert(products)
          .values({ companyId: user.companyId, ...body })
          .returning();
        await audit(tx, { companyId: user.companyId, actor: user.id, kind: 'product_created', message: `Product "${row!.name}" created` });
        return row!;
      })
      .catch((err: unknown) => {
        throw duplicate(err, 'product', 'Another product has this SKU') ?? err;
      });
    res.status(201).location(`/api/v1/products/${created.id}`).set('ETag', etag(created.version)).json(productView(created));
  });

  router.patch('/products/:id', async (req, res) => {
    const user = requireSalesClerk(res);
    const existing = await ownedProduct(db, user.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    const body = parseOr422(ProductPatchBody, req.body, 'product');
    const updated = await db
      .transaction(async (tx) => {
        const key = eq(products.id, existing.id);
        const [row] = await tx
          .update(products)
          .set({ ...body, version: nextVersion(products.version) })
          .where(and(key, atVersion(products.version, expected)))
          .returning();
        if (!row) throw await notWritten(tx, products, key, 'product');
        await audit(tx, {
          companyId: user.companyId,
          actor: user.id,
          kind: 'product_changed',
          message: `Product "${existing.name}" changed`,
          data: { before: productView(existing), after: productView(row) },
        });
        return row;
      })
      .catch((err: unknown) => {
        throw duplicate(err, 'product', 'Another product has this SKU') ?? err;
      });
    res.set('ETag', etag(updated.version)).json(productView(updated));
  });

  router.delete('/products/:id', async (req, res) => {
    const user = requireAdmin(res);
    const existing = await ownedProduct(db, user.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, existing.version);
    await db.transaction(async (tx) => {
      const [{ n } = { n: 0 }] = await tx
        .select({ n: count() })
        .from(salesInvoiceLines)
        .where(eq(salesInvoiceLines.productId, existing.id));
      if (n > 0) throw inUse(n, 'product', existing.id);
      const key = eq(products.id, existing.id);
      const [gone] = await tx
        .delete(products)
        .where(and(key, atVersion(products.version, expected)))
        .returning({ id: products.id });
      if (!gone) throw await notWritten(tx, products, key, 'product');
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'product_deleted',
        message: `Product "${existing.name}" deleted`,
      });
    });
    res.status(204).end();
  });

  return router;
}

function duplicate(err: unknown, noun: string, message: string): ApiError | undefined {
  return sqlState(err) === '23505' ? new ApiError(409, `duplicate_${noun}`, message) : undefined;
}

function inUse(n: number, noun: 'customer' | 'product', id: string): ApiError {
  const plural = noun === 'customer' ? 'customers' : 'products';
  return new ApiError(
    409,
    'in_use',
    `${n} sales invoice${n === 1 ? ' names' : 's name'} this ${noun}, so it stays; deactivate it instead (PATCH /api/v1/${plural}/${id} {"active": false})`,
    [{ id, invoices: n }],
  );
}

/** The customer and product routes in the OpenAPI document. */
export const customersDocs: ApiDocs = (d) => {
  for (const [tag, noun, path, View, Body, PatchBody, dup] of [
    ['Customers', 'customer', '/customers', CustomerView, CustomerBody, CustomerPatchBody, 'VAT number or endpoint id'],
    ['Products', 'product', '/products', ProductView, ProductBody, ProductPatchBody, 'SKU'],
  ] as const) {
    d.path(tag, 'get', path, {
      summary: `The company's ${noun}s by name`,
      request: { query: ListQuery },
      responses: { 200: d.page(View), 400: d.error('Bad cursor'), ...d.common, 422: d.error('Invalid query') },
    });
    d.path(tag, 'get', `${path}/:id`, {
      summary: `One ${noun}`,
      request: { params: idParam },
      responses: { 200: versionedJson(d, View, `The ${noun}`), ...d.common, 404: d.error('Unknown or of another company') },
    });
    d.path(tag, 'post', path, {
      summary: `Create a ${noun} (clerks and admins)`,
      request: { body: d.body(Body) },
      responses: {
        201: versionedJson(d, View, 'Created (Location: its URL)'),
        ...d.common,
        403: d.error('Neither clerk nor admin'),
        409: d.error(`Another ${noun} has this ${dup}`),
        422: d.error(`Invalid ${noun}`),
      },
    });
    d.path(tag, 'patch', `${path}/:id`, {
      summary: `Change a ${noun} (clerks and admins); send If-Match`,
      request: { params: idParam, headers: IfMatchHeader, body: d.body(PatchBody) },
      responses: {
        200: versionedJson(d, View, 'Changed'),
        ...d.common,
        403: d.error('Neither clerk nor admin'),
        404: d.error('Unknown or of another company'),
        409: d.error(`Another ${noun} has this ${dup}`),
        412: staleResponse(d),
        422: d.error(`Invalid change`),
      },
    });
    d.path(tag, 'delete', `${path}/:id`, {
      summary: `Delete a ${noun} no sales invoice names (admins)`,
      request: { params: idParam, headers: IfMatchHeader },
      responses: {
        204: { description: 'Deleted' },
        ...d.common,
        403: d.error('Not an admin'),
        404: d.error('Unknown or of another company'),
        409: d.error('in_use: sales invoices name it; deactivate it instead'),
        412: staleResponse(d),
      },
    });
  }
};
