/**
 * Sales invoices (SPEC 2.5), the use cases behind the routes: intake with lines, customer items and
 * serial numbers; the list and the detail; loading serial numbers and reviewing customer items.
 * Amounts are computed here from the lines (domain/sales.ts), exactly, and a total the caller
 * sends must agree with them.
 */
import { and, asc, eq, gte, inArray, lte, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../activities/audit';
import { sqlState } from '../activities/failures';
import { companySalesSettings, salesFacts } from '../activities/sales-posting';
import type { Db, Tx } from '../db/client';
import {
  customerItems,
  customers,
  journalEntries,
  journalLines,
  products,
  salesInvoiceLines,
  salesInvoices,
  salesSerialNumbers,
} from '../db/schema';
import { format, isCurrency, money } from '../domain/money';
import { dueDateFor, invoiceTotals, wholeUnits } from '../domain/sales';
import { SALES_INVOICE_STATES, TERM_DAYS } from '../domain/sales-terms';
import type { CurrentUser } from './auth';
import { isUuid } from './auth';
import { ApiError, parseOr422 } from './errors';
import { pageOf, pageParams, decodeCursor } from './paging';
import { CalendarDate, Decimal, line, Percent, text } from './schemas';

const Quantity = Decimal.refine((v) => !v.startsWith('-') && !/^0+(\.0+)?$/.test(v), 'must be above zero');
const Price = Decimal.refine((v) => !v.startsWith('-'), 'must not be negative');
const Serial = line(100);

export const SalesLineInput = z.strictObject({
  productId: z.uuid(),
  description: text(500).optional().openapi({ description: "Default: the product's name" }),
  quantity: Quantity,
  unitPrice: Price.optional().openapi({ description: "Default: the product's price" }),
  taxRate: Percent.optional().openapi({ description: "Default: the product's tax rate" }),
  serialNumbers: z.array(Serial).max(10_000).optional().openapi({ description: 'One per unit, for products that require them' }),
  customerItem: z
    .strictObject({
      description: text(500).optional(),
      reviewed: z.boolean().optional().openapi({ description: 'The clerk confirms the customer item details now' }),
    })
    .optional()
    .openapi({ description: 'For products that create a customer item: its details' }),
});

export const SalesInvoiceBody = z.strictObject({
  customer: z.strictObject({ id: z.uuid() }),
  invoiceNumber: line(100),
  invoiceDate: CalendarDate,
  dueDate: CalendarDate.optional().openapi({ description: "Default: the invoice date plus the customer's payment terms" }),
  currency: z.string().refine(isCurrency, 'must be an ISO 4217 currency code').openapi({ example: 'EUR' }),
  lines: z.array(SalesLineInput).min(1).max(1000),
  net: Decimal.optional().openapi({ description: 'If sent, must equal the sum of the lines' }),
  tax: Decimal.optional(),
  gross: Decimal.optional(),
});

export const SalesListQuery = z.strictObject({
  state: z.enum(SALES_INVOICE_STATES).optional(),
  customerId: z.uuid().optional(),
  from: CalendarDate.optional().openapi({ description: 'Invoice date on or after' }),
  to: CalendarDate.optional().openapi({ description: 'Invoice date on or before' }),
  minGross: Decimal.optional(),
  maxGross: Decimal.optional(),
  ...pageParams,
});

/** The filter of the list, also a preview's selection. */
export type SalesFilter = Omit<z.infer<typeof SalesListQuery>, 'limit' | 'cursor'>;

export const SerialNumbersBody = z.strictObject({ serialNumbers: z.array(Serial).max(10_000) });
export const ReviewItemBody = z.strictObject({ description: text(500).optional() });

type SalesInvoice = typeof salesInvoices.$inferSelect;

/** Creates a sales invoice with its lines, serial numbers and customer items, in one transaction. */
export async function createSalesInvoice(db: Db, user: CurrentUser, input: unknown, now: Date): Promise<SalesInvoice> {
  const body = parseOr422(SalesInvoiceBody, input, 'sales invoice');
  const [customer] = await db
    .select()
    .from(customers)
    .where(and(eq(customers.id, body.customer.id), eq(customers.companyId, user.companyId)));
  const problems: { path: string; message: string }[] = [];
  if (!customer) problems.push({ path: 'customer.id', message: 'no such customer' });
  else if (!customer.active) problems.push({ path: 'customer.id', message: `the customer "${customer.name}" is inactive` });
  const productIds = [...new Set(body.lines.map((l) => l.productId))];
  const productRows = await db
    .select()
    .from(products)
    .where(and(inArray(products.id, productIds), eq(products.companyId, user.companyId)));
  const productOf = new Map(productRows.map((p) => [p.id, p]));
  const lines = body.lines.map((l, i) => {
    const path = `lines.${i}`;
    const product = productOf.get(l.productId);
    if (!product) {
      problems.push({ path: `${path}.productId`, message: 'no such product' });
      return undefined;
    }
    if (!product.active) problems.push({ path: `${path}.productId`, message: `the product "${product.name}" is inactive` });
    const unitPrice = l.unitPrice ?? product.unitPrice;
    if (unitPrice === null) problems.push({ path: `${path}.unitPrice`, message: `the product "${product.name}" has no price: send one` });
    const serials = l.serialNumbers ?? [];
    if (serials.length > 0 && !product.requiresSerialNumbers) {
      problems.push({ path: `${path}.serialNumbers`, message: `the product "${product.name}" takes no serial numbers` });
    }
    if (product.requiresSerialNumbers) {
      const units = wholeUnits(l.quantity);
      if (units === undefined) problems.push({ path: `${path}.quantity`, message: 'products with serial numbers are sold in whole units' });
      else if (BigInt(serials.length) > units)
        problems.push({ path: `${path}.serialNumbers`, message: `more serial numbers than the ${units} units` });
    }
    if (new Set(serials).size !== serials.length)
      problems.push({ path: `${path}.serialNumbers`, message: 'a serial number is listed twice' });
    if (l.customerItem && !product.createsCustomerItem) {
      problems.push({ path: `${path}.customerItem`, message: `the product "${product.name}" creates no customer item` });
    }
    return { input: l, product, unitPrice: unitPrice ?? '0', taxRate: l.taxRate ?? product.taxRate };
  });
  if (problems.length > 0) throw new ApiError(422, 'validation_failed', 'The sales invoice is not valid', problems);
  const ready = lines.map((l) => l!);
  const totals = invoiceTotals(
    ready.map((l) => ({ quantity: l.input.quantity, unitPrice: l.unitPrice, taxRate: l.taxRate })),
    body.currency,
  );
  for (const key of ['net', 'tax', 'gross'] as const) {
    const sent = body[key];
    if (sent !== undefined && !sameDecimal(sent, totals[key], body.currency)) {
      problems.push({ path: key, message: `the lines add up to ${totals[key]} ${body.currency}, not ${sent}` });
    }
  }
  if (problems.length > 0) throw new ApiError(422, 'validation_failed', 'The sales invoice does not add up', problems);
  const dueDate = body.dueDate ?? dueDateFor(body.invoiceDate, TERM_DAYS[customer!.paymentTerms]);
  return db
    .transaction(async (tx) => {
      const [invoice] = await tx
        .insert(salesInvoices)
        .values({
          companyId: user.companyId,
          customerId: customer!.id,
          invoiceNumber: body.invoiceNumber,
          invoiceDate: body.invoiceDate,
          dueDate,
          currency: body.currency,
          net: totals.net,
          tax: totals.tax,
          gross: totals.gross,
          createdBy: user.id,
        })
        .returning();
      const id = invoice!.id;
      await tx.insert(salesInvoiceLines).values(
        ready.map((l, i) => ({
          invoiceId: id,
          lineNo: i + 1,
          productId: l.product.id,
          description: l.input.description ?? l.product.name,
          quantity: l.input.quantity,
          unitPrice: l.unitPrice,
          net: totals.lines[i]!.net,
          taxRate: l.taxRate,
          tax: totals.lines[i]!.tax,
        })),
      );
      const serials = ready.flatMap((l, i) =>
        (l.input.serialNumbers ?? []).map((serialNumber) => ({ invoiceId: id, lineNo: i + 1, serialNumber })),
      );
      if (serials.length > 0) await tx.insert(salesSerialNumbers).values(serials);
      const items = ready.flatMap((l, i) =>
        l.product.createsCustomerItem
          ? [
              {
                companyId: user.companyId,
                customerId: customer!.id,
                salesInvoiceId: id,
                lineNo: i + 1,
                productId: l.product.id,
                description: l.input.customerItem?.description ?? l.input.description ?? l.product.name,
                quantity: l.input.quantity,
                ...(l.input.customerItem?.reviewed ? { reviewedBy: user.id, reviewedAt: now } : {}),
              },
            ]
          : [],
      );
      if (items.length > 0) await tx.insert(customerItems).values(items);
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'sales_invoice_created',
        message: `Sales invoice ${body.invoiceNumber} to ${customer!.name} created: ${totals.gross} ${body.currency}`,
        data: { salesInvoiceId: id },
      });
      return invoice!;
    })
    .catch((err: unknown) => {
      if (sqlState(err) === '23505') {
        throw new ApiError(409, 'duplicate_invoice', `Sales invoice number ${body.invoiceNumber} is already used`);
      }
      throw err;
    });
}

function sameDecimal(a: string, b: string, currency: string): boolean {
  try {
    return format(money(a, currency)) === format(money(b, currency));
  } catch {
    return false;
  }
}

/** Conditions of the sales list's filter, in the caller's company. */
export function filterConditions(companyId: string, f: SalesFilter): SQL[] {
  const where: SQL[] = [eq(salesInvoices.companyId, companyId)];
  if (f.state) where.push(eq(salesInvoices.state, f.state));
  if (f.customerId) where.push(eq(salesInvoices.customerId, f.customerId));
  if (f.from) where.push(gte(salesInvoices.invoiceDate, f.from));
  if (f.to) where.push(lte(salesInvoices.invoiceDate, f.to));
  if (f.minGross) where.push(sql`${salesInvoices.gross} >= ${f.minGross}::numeric`);
  if (f.maxGross) where.push(sql`${salesInvoices.gross} <= ${f.maxGross}::numeric`);
  return where;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `GET /sales-invoices`: by invoice date and id, filtered, a page at a time. */
export async function listSalesInvoices(db: Db, user: CurrentUser, input: unknown) {
  const query = parseOr422(SalesListQuery, input, 'query');
  const where = filterConditions(user.companyId, query);
  const position = decodeCursor(query.cursor);
  if (position) {
    if (!DAY.test(position[0]) || !isUuid(position[1])) throw new ApiError(400, 'bad_cursor', 'The cursor is not one this API returned');
    where.push(sql`(${salesInvoices.invoiceDate}, ${salesInvoices.id}) > (${position[0]}::date, ${position[1]}::uuid)`);
  }
  const rows = await db
    .select({ invoice: salesInvoices, customer: { id: customers.id, name: customers.name, paymentTerms: customers.paymentTerms } })
    .from(salesInvoices)
    .innerJoin(customers, eq(customers.id, salesInvoices.customerId))
    .where(and(...where))
    .orderBy(asc(salesInvoices.invoiceDate), asc(salesInvoices.id))
    .limit(query.limit + 1);
  const page = pageOf(rows, query.limit, (r) => [r.invoice.invoiceDate, r.invoice.id]);
  return { items: page.items.map((r) => ({ ...summary(r.invoice), customer: r.customer })), nextCursor: page.nextCursor };
}

export function summary(i: SalesInvoice) {
  return {
    id: i.id,
    invoiceNumber: i.invoiceNumber,
    invoiceDate: i.invoiceDate,
    dueDate: i.dueDate,
    currency: i.currency,
    net: i.net,
    tax: i.tax,
    gross: i.gross,
    state: i.state,
    postingId: i.postingId,
    version: i.version,
  };
}

/** One sales invoice of the caller's company, or 404. */
export async function ownedSalesInvoice(db: Db | Tx, user: CurrentUser, id: string, lock = false): Promise<SalesInvoice> {
  if (!isUuid(id)) throw ApiError.notFound('sales invoice');
  const q = db
    .select()
    .from(salesInvoices)
    .where(and(eq(salesInvoices.id, id), eq(salesInvoices.companyId, user.companyId)));
  const [row] = lock ? await q.for('update') : await q;
  if (!row) throw ApiError.notFound('sales invoice');
  return row;
}

/** `GET /sales-invoices/:id`: header, customer, lines with serial numbers and customer items, blockers, journal once posted. */
export async function salesInvoiceDetail(db: Db, user: CurrentUser, id: string) {
  const invoice = await ownedSalesInvoice(db, user, id);
  const config = await companySalesSettings(db, user.companyId);
  const [facts] = await salesFacts(db, [invoice], config);
  const f = facts!;
  const serials = await db
    .select()
    .from(salesSerialNumbers)
    .where(eq(salesSerialNumbers.invoiceId, id))
    .orderBy(asc(salesSerialNumbers.lineNo), asc(salesSerialNumbers.serialNumber));
  const [entry] = await db.select().from(journalEntries).where(eq(journalEntries.salesInvoiceId, id));
  const entryLines = entry
    ? await db.select().from(journalLines).where(eq(journalLines.entryId, entry.id)).orderBy(asc(journalLines.lineNo))
    : [];
  return {
    ...summary(invoice),
    customer: { id: f.customer.id, name: f.customer.name, paymentTerms: f.customer.paymentTerms },
    lines: f.lines.map((l) => {
      const item = f.items.find((i) => i.lineNo === l.lineNo);
      return {
        lineNo: l.lineNo,
        product: { id: l.product.id, sku: l.product.sku, name: l.product.name },
        description: l.description,
        quantity: l.quantity,
        unitPrice: l.unitPrice,
        net: l.net,
        taxRate: l.taxRate,
        tax: l.tax,
        requiresSerialNumbers: l.product.requiresSerialNumbers,
        serialNumbers: serials.filter((s) => s.lineNo === l.lineNo).map((s) => s.serialNumber),
        customerItem: item
          ? {
              id: item.id,
              description: item.description,
              state: item.state,
              reviewed: item.reviewedAt !== null,
              reviewedBy: item.reviewedBy,
            }
          : null,
      };
    }),
    blockers: f.blockers,
    posting: entry
      ? {
          journalEntryId: entry.id,
          postedAt: entry.postedAt,
          lines: entryLines.map((l) => ({ account: l.account, debit: l.debit, credit: l.credit, dimensions: l.dimensions })),
        }
      : null,
  };
}

/** The invoice may still change: it is neither posted nor held by a posting run. */
function assertEditable(invoice: SalesInvoice): void {
  if (invoice.state === 'posted') throw new ApiError(409, 'invoice_locked', 'The invoice is posted; it no longer changes');
  if (invoice.postingId) throw new ApiError(409, 'invoice_locked', 'A posting run is posting this invoice; it cannot change now');
}

async function bumpVersion(tx: Tx, id: string, expected: number | undefined): Promise<SalesInvoice> {
  const [row] = await tx
    .update(salesInvoices)
    .set({ version: sql`${salesInvoices.version} + 1` })
    .where(and(eq(salesInvoices.id, id), expected === undefined ? undefined : eq(salesInvoices.version, expected)))
    .returning();
  if (!row) throw new ApiError(412, 'stale_version', 'The invoice was changed meanwhile; reload it and apply your change again');
  return row;
}

/** Replaces a line's serial numbers (one per unit at most); the invoice's version grows. */
export async function setSerialNumbers(
  db: Db,
  user: CurrentUser,
  id: string,
  lineNo: number,
  input: unknown,
  expected: number | undefined,
) {
  const body = parseOr422(SerialNumbersBody, input, 'serial numbers');
  if (new Set(body.serialNumbers).size !== body.serialNumbers.length) {
    throw new ApiError(422, 'validation_failed', 'A serial number is listed twice', [{ path: 'serialNumbers', message: 'duplicate' }]);
  }
  return db.transaction(async (tx) => {
    const invoice = await ownedSalesInvoice(tx, user, id, true);
    assertEditable(invoice);
    const [row] = await tx
      .select({ line: salesInvoiceLines, product: products })
      .from(salesInvoiceLines)
      .innerJoin(products, eq(products.id, salesInvoiceLines.productId))
      .where(and(eq(salesInvoiceLines.invoiceId, id), eq(salesInvoiceLines.lineNo, lineNo)));
    if (!row) throw ApiError.notFound('invoice line');
    if (!row.product.requiresSerialNumbers)
      throw new ApiError(422, 'no_serial_numbers', `The product "${row.product.name}" takes no serial numbers`);
    const units = wholeUnits(row.line.quantity) ?? 0n;
    if (BigInt(body.serialNumbers.length) > units) {
      throw new ApiError(422, 'too_many_serial_numbers', `Line ${lineNo} has ${units} units: at most ${units} serial numbers`);
    }
    const updated = await bumpVersion(tx, id, expected);
    await tx.delete(salesSerialNumbers).where(and(eq(salesSerialNumbers.invoiceId, id), eq(salesSerialNumbers.lineNo, lineNo)));
    if (body.serialNumbers.length > 0) {
      await tx.insert(salesSerialNumbers).values(body.serialNumbers.map((serialNumber) => ({ invoiceId: id, lineNo, serialNumber })));
    }
    await audit(tx, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'sales_serial_numbers',
      message: `Sales invoice ${invoice.invoiceNumber} line ${lineNo}: ${body.serialNumbers.length} serial numbers loaded`,
      data: { salesInvoiceId: id, lineNo, serialNumbers: body.serialNumbers },
    });
    return updated;
  });
}

/** Confirms a line's customer item details (optionally correcting the description); the invoice's version grows. */
export async function reviewCustomerItem(
  db: Db,
  user: CurrentUser,
  id: string,
  lineNo: number,
  input: unknown,
  expected: number | undefined,
  now: Date,
) {
  const body = parseOr422(ReviewItemBody, input ?? {}, 'review');
  return db.transaction(async (tx) => {
    const invoice = await ownedSalesInvoice(tx, user, id, true);
    assertEditable(invoice);
    const [item] = await tx
      .update(customerItems)
      .set({ reviewedBy: user.id, reviewedAt: now, ...(body.description ? { description: body.description } : {}) })
      .where(and(eq(customerItems.salesInvoiceId, id), eq(customerItems.lineNo, lineNo)))
      .returning();
    if (!item) throw ApiError.notFound('customer item');
    const updated = await bumpVersion(tx, id, expected);
    await audit(tx, {
      companyId: user.companyId,
      actor: user.id,
      kind: 'customer_item_reviewed',
      message: `Sales invoice ${invoice.invoiceNumber} line ${lineNo}: customer item "${item.description}" reviewed`,
      data: { salesInvoiceId: id, lineNo, customerItemId: item.id },
    });
    return updated;
  });
}
