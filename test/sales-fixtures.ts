/**
 * Sales data for tests and the bench: customers and products through the API, and many unposted
 * sales invoices straight into the database (thousands in a second or two).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/client';
import { customerItems, customers, products, salesInvoiceLines, salesInvoices } from '../db/schema';
import { invoiceTotals } from '../domain/sales';

export interface SalesMasterData {
  customerId: string;
  productId: string;
}

/** A net-30 customer and a plain product (25 % tax), straight into the database. */
export async function salesMasterData(db: Db, companyId: string, tag: string): Promise<SalesMasterData> {
  const [customer] = await db
    .insert(customers)
    .values({ companyId, name: `Customer ${tag}`, paymentTerms: 'net_30' })
    .returning();
  const [product] = await db
    .insert(products)
    .values({ companyId, sku: `SKU-${tag}`, name: `Widget ${tag}`, unitPrice: '19.99', taxRate: '25', createsCustomerItem: true })
    .returning();
  return { customerId: customer!.id, productId: product!.id };
}

/**
 * `count` unposted invoices of two lines each (one of them creating a reviewed-or-not customer
 * item), inserted in batches; returns their ids in order.
 */
export async function bulkSalesInvoices(
  db: Db,
  opts: { companyId: string; customerId: string; productId: string; count: number; prefix: string; createdBy?: string },
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < opts.count; start += 500) {
    const n = Math.min(500, opts.count - start);
    const batch = Array.from({ length: n }, (_, k) => {
      const i = start + k;
      const lines = [
        { quantity: String(1 + (i % 7)), unitPrice: '19.99', taxRate: '25' },
        { quantity: '1', unitPrice: `${100 + (i % 13)}.05`, taxRate: '12' },
      ];
      return { id: randomUUID(), i, lines, totals: invoiceTotals(lines, 'EUR') };
    });
    await db.insert(salesInvoices).values(
      batch.map((b) => ({
        id: b.id,
        companyId: opts.companyId,
        customerId: opts.customerId,
        invoiceNumber: `${opts.prefix}-${b.i + 1}`,
        invoiceDate: '2026-11-02',
        dueDate: '2026-12-02',
        currency: 'EUR',
        net: b.totals.net,
        tax: b.totals.tax,
        gross: b.totals.gross,
        createdBy: opts.createdBy ?? null,
      })),
    );
    await db.insert(salesInvoiceLines).values(
      batch.flatMap((b) =>
        b.lines.map((l, j) => ({
          invoiceId: b.id,
          lineNo: j + 1,
          productId: opts.productId,
          description: j === 0 ? 'Widget' : 'Service',
          quantity: l.quantity,
          unitPrice: l.unitPrice,
          net: b.totals.lines[j]!.net,
          taxRate: l.taxRate,
          tax: b.totals.lines[j]!.tax,
        })),
      ),
    );
    await db.insert(customerItems).values(
      batch.map((b) => ({
        companyId: opts.companyId,
        customerId: opts.customerId,
        salesInvoiceId: b.id,
        lineNo: 1,
        productId: opts.productId,
        description: 'Widget',
        quantity: b.lines[0]!.quantity,
        reviewedAt: new Date(),
      })),
    );
    ids.push(...batch.map((b) => b.id));
  }
  return ids;
}
