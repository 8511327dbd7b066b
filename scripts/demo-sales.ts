import type { SeededCompany } from '../db/seed';
import { demoApi } from './demo-invoices';

/**
 * Demo sales data for the Sales page (SPEC 2.5), made through the API as the demo clerk and admin:
 * three customers (one on cash-sales-only terms), three products (one creating a customer item,
 * one requiring serial numbers), and six unposted sales invoices, three of them postable and one
 * with each blocker. Only while the demo company has no sales invoice; customers and products a
 * first start that stopped halfway made are found again by name and SKU.
 */
export async function seedDemoSales(apiUrl: string, company: SeededCompany): Promise<void> {
  const call = demoApi(apiUrl);
  const { alice, erin } = company.tokens as Record<'alice' | 'erin', string>;
  const existing = (await call(alice, 'GET', '/sales-invoices?limit=1')) as { items: unknown[] };
  if (existing.items.length > 0) return;

  type Row = { id: string; name: string; sku?: string };
  const known = async (path: string) => ((await call(alice, 'GET', `${path}?limit=200`)) as { items: Row[] }).items;
  const customers = await known('/customers');
  const products = await known('/products');
  const customer = async (body: { name: string; paymentTerms: string; vatNumber?: string }) =>
    customers.find((c) => c.name === body.name)?.id ?? String((await call(alice, 'POST', '/customers', body)).id);
  const product = async (body: Record<string, unknown> & { sku: string }) =>
    products.find((p) => p.sku === body.sku)?.id ?? String((await call(alice, 'POST', '/products', body)).id);

  const nordic = await customer({ name: 'Nordic Retail AB', paymentTerms: 'net_30', vatNumber: 'SE556000000001' });
  const harbour = await customer({ name: 'Harbour Books Ltd', paymentTerms: 'net_14' });
  const cafe = await customer({ name: 'Walk-in Café', paymentTerms: 'cash_sales_only' });
  const paper = await product({ sku: 'PAPER-A4', name: 'Copy paper A4 (box)', unitPrice: '24.90', taxRate: '25' });
  const support = await product({
    sku: 'SUPPORT-12M',
    name: 'Support subscription, 12 months',
    unitPrice: '480.00',
    taxRate: '25',
    createsCustomerItem: true,
  });
  const router = await product({
    sku: 'ROUTER-X2',
    name: 'Office router X2',
    unitPrice: '310.50',
    taxRate: '25',
    requiresSerialNumbers: true,
  });
  // The review of customer items before posting is on, so an unreviewed one blocks its invoice.
  await call(erin, 'PATCH', '/sales-settings', { requireCustomerItemReview: true });

  const invoices: { number: string; date: string; customer: string; lines: unknown[] }[] = [
    { number: 'SO-2001', date: '2026-11-02', customer: nordic, lines: [{ productId: paper, quantity: '10' }] },
    {
      number: 'SO-2002',
      date: '2026-11-03',
      customer: nordic,
      lines: [{ productId: support, quantity: '1', customerItem: { reviewed: true, description: 'Support for the Malmö shop, 2027' } }],
    },
    {
      number: 'SO-2003',
      date: '2026-11-04',
      customer: harbour,
      lines: [
        { productId: paper, quantity: '4' },
        { productId: support, quantity: '1', customerItem: { description: 'Support for the harbour store' } },
      ],
    },
    { number: 'SO-2004', date: '2026-11-05', customer: cafe, lines: [{ productId: paper, quantity: '2' }] },
    {
      number: 'SO-2005',
      date: '2026-11-06',
      customer: harbour,
      lines: [{ productId: router, quantity: '2', serialNumbers: ['X2-000117'] }],
    },
    {
      number: 'SO-2006',
      date: '2026-11-07',
      customer: nordic,
      lines: [
        { productId: router, quantity: '1', serialNumbers: ['X2-000118'] },
        { productId: paper, quantity: '1' },
      ],
    },
  ];
  for (const i of invoices) {
    await call(alice, 'POST', '/sales-invoices', {
      customer: { id: i.customer },
      invoiceNumber: i.number,
      invoiceDate: i.date,
      currency: 'EUR',
      lines: i.lines,
    });
  }
}
