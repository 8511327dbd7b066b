/**
 * Mass posting of sales invoices (SPEC 2.5) against its floor: the same number of balanced
 * journals (entry, lines, invoice state, customer items) written with plain SQL from one process
 * in transactions of the same chunk size, without preview, checks, Temporal or the API.
 */
import { inArray, sql } from 'drizzle-orm';
import { companySalesSettings, journalOf, salesFacts } from '../activities/sales-posting';
import { journalEntries, journalLines, salesInvoices } from '../db/schema';
import { DEFAULT_SALES_CHUNK_SIZE } from '../workflows/sales-definitions';
import { bulkSalesInvoices, salesMasterData } from '../test/sales-fixtures';
import { startRig, type Rig } from './batch-speed';

export interface SalesPostingFigure {
  count: number;
  /** Preview, confirmation and the durable run until GET /sales-postings/:id says completed. */
  oursSeconds: number;
  plainSqlSeconds: number;
  ratio: number;
}

export async function salesPostingFigure(rig: Rig, count: number): Promise<SalesPostingFigure> {
  const db = rig.database.db;
  const tag = `bench-${Date.now()}`;
  const { customerId, productId } = await salesMasterData(db, rig.companyId, tag);
  const ours = await bulkSalesInvoices(db, { companyId: rig.companyId, customerId, productId, count, prefix: `${tag}-A` });
  const plain = await bulkSalesInvoices(db, { companyId: rig.companyId, customerId, productId, count, prefix: `${tag}-B` });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${rig.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${rig.tokens.alice}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  const t0 = performance.now();
  const preview = await call('POST', '/sales-invoices/post-preview', { ids: ours });
  const started = await call('POST', '/sales-invoices/post', { previewToken: preview.previewToken, confirm: true, mode: 'postable-only' });
  for (;;) {
    const status = await call('GET', `/sales-postings/${String(started.postingId)}`);
    if (status.state === 'completed') {
      if (status.posted !== count) throw new Error(`posted ${String(status.posted)} of ${count}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const oursSeconds = (performance.now() - t0) / 1000;

  // The floor: the same journals, built beforehand, written in chunks of the same size.
  const config = await companySalesSettings(db, rig.companyId);
  const rows = await db.select().from(salesInvoices).where(inArray(salesInvoices.id, plain));
  const facts = await salesFacts(db, rows, config);
  const drafts = facts.map((f) => ({ id: f.invoice.id, currency: f.invoice.currency, lines: journalOf(f, config) }));
  const t1 = performance.now();
  for (let i = 0; i < drafts.length; i += DEFAULT_SALES_CHUNK_SIZE) {
    const chunk = drafts.slice(i, i + DEFAULT_SALES_CHUNK_SIZE);
    await db.transaction(async (tx) => {
      const entries = await tx
        .insert(journalEntries)
        .values(chunk.map((d) => ({ companyId: rig.companyId, salesInvoiceId: d.id, currency: d.currency, description: 'plain SQL' })))
        .returning({ id: journalEntries.id, invoiceId: journalEntries.salesInvoiceId });
      const entryOf = new Map(entries.map((e) => [e.invoiceId!, e.id]));
      await tx
        .insert(journalLines)
        .values(chunk.flatMap((d) => d.lines.map((l, n) => ({ entryId: entryOf.get(d.id)!, lineNo: n + 1, ...l }))));
      const ids = chunk.map((d) => d.id);
      await tx.update(salesInvoices).set({ state: 'posted', postedAt: new Date() }).where(inArray(salesInvoices.id, ids));
      await tx.execute(sql`update customer_items set state = 'active', activated_at = now() where sales_invoice_id in ${ids}`);
    });
  }
  const plainSqlSeconds = (performance.now() - t1) / 1000;
  return { count, oursSeconds, plainSqlSeconds, ratio: oursSeconds / plainSqlSeconds };
}

/** The figure as a markdown section. */
export function salesPostingTable(f: SalesPostingFigure): string {
  return [
    `\n## Mass posting of ${f.count} sales invoices vs the same balanced journals written with plain SQL (one process)\n`,
    '| run | invoices | wall s | invoices/s | vs plain SQL |',
    '|---|---:|---:|---:|---:|',
    `| plain SQL, chunks of ${DEFAULT_SALES_CHUNK_SIZE} | ${f.count} | ${f.plainSqlSeconds.toFixed(2)} | ${(f.count / f.plainSqlSeconds).toFixed(0)} | 1.00 |`,
    `| preview + post + salesPostingWorkflow | ${f.count} | ${f.oursSeconds.toFixed(2)} | ${(f.count / f.oursSeconds).toFixed(0)} | ${f.ratio.toFixed(2)} |`,
  ].join('\n');
}

// `tsx bench/sales-posting.ts [count]`: this figure alone.
if (require.main === module) {
  void (async () => {
    const rig = await startRig({ company: `sales${Date.now() % 100000}` });
    try {
      const f = await salesPostingFigure(rig, Number(process.argv[2] ?? 1000));
      process.stdout.write(`${salesPostingTable(f)}\n`);
    } finally {
      await rig.stop();
    }
  })();
}
