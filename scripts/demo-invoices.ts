import type { SeededCompany } from '../db/seed';
import { format, money, plus } from '../domain/money';

/** Calls the API at `apiUrl` as a demo user (by token); a refusal throws with the API's answer. */
export function demoApi(apiUrl: string) {
  return async (token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${apiUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
}

/**
 * A few demo invoices left in different stages, made through the API as the demo users would;
 * only while the demo company has none (a first start that stopped halfway seeds them next time).
 */
export async function seedDemoInvoices(apiUrl: string, company: SeededCompany): Promise<void> {
  const call = demoApi(apiUrl);
  const { alice, bob, carol } = company.tokens as Record<'alice' | 'bob' | 'carol', string>;
  const existing = (await call(alice, 'GET', '/invoices?limit=1')) as { items: unknown[] };
  if (existing.items.length > 0) return;
  const demo: { number: string; net: string; tax: string; approvers: string[] }[] = [
    { number: 'DEMO-1001', net: '800.00', tax: '200.00', approvers: [] },
    { number: 'DEMO-1002', net: '1200.00', tax: '300.00', approvers: [alice] },
    { number: 'DEMO-1003', net: '16000.00', tax: '4000.00', approvers: [alice, bob] },
    { number: 'DEMO-1004', net: '96.00', tax: '24.00', approvers: [alice, bob, carol] },
  ];
  for (const d of demo) {
    const created = await call(alice, 'POST', '/invoices', {
      vendor: { id: company.vendorId },
      invoiceNumber: d.number,
      invoiceDate: '2026-11-02',
      dueDate: '2026-12-02',
      currency: 'EUR',
      net: d.net,
      tax: d.tax,
      gross: format(plus(money(d.net, 'EUR'), money(d.tax, 'EUR'))),
      lines: [{ description: 'Office supplies', quantity: '1', unitPrice: d.net, net: d.net, taxRate: '25' }],
    });
    for (const token of d.approvers) await call(token, 'POST', `/invoices/${String(created.id)}/actions/approve`, {});
  }
}
