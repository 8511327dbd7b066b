/**
 * A person's correction of an invoice's coding rows (`PATCH /invoices/:id/coding`, through the
 * workflow's `codingChanged`): written in one transaction against the version the editor saw, row
 * by row in the audit trail. Rows that stay exactly as they were keep their id (and so their
 * signatures); changed, added and removed rows lose theirs.
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { lockInvoice } from '../db/locks';
import { codingRows, invoices } from '../db/schema';
import { codingSumProblems } from '../domain/coding';
import { format, money } from '../domain/money';
import { audit } from './audit';
import { activity, invoiceNotFound } from './failures';

const RowSchema = z.strictObject({
  kind: z.enum(['expense', 'tax']),
  account: z.string().min(1).max(40),
  dimensions: z.record(z.string(), z.string()),
  taxCode: z.string().max(40).nullable().optional(),
  amount: z.string(),
});

export interface CodingWritten {
  version: number;
  rows: { id: string; kind: 'expense' | 'tax'; dimensions: Record<string, string> }[];
  /** What changed, row by row, in words. */
  changes: string[];
}

type Row = z.infer<typeof RowSchema>;
const describe = (r: Row) =>
  `${r.kind} ${r.account} ${Object.entries(r.dimensions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}${r.taxCode ? ` tax code ${r.taxCode}` : ''} ${r.amount}`.replace(/\s+/g, ' ');

export function replaceCodingActivity({ db }: { db: Db }) {
  return {
    replaceCoding: activity(
      z.strictObject({
        invoiceId: z.uuid(),
        by: z.string().min(1).max(200),
        version: z.number().int().min(0),
        rows: z.array(RowSchema).min(1).max(500),
      }),
      async ({ invoiceId, by, version, rows }): Promise<CodingWritten> => {
        return db.transaction(async (tx) => {
          await lockInvoice(tx, invoiceId);
          const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for('update');
          if (!invoice) throw invoiceNotFound(invoiceId);
          if (invoice.codingVersion !== version) {
            throw ApplicationFailure.create({
              type: 'StaleVersion',
              nonRetryable: true,
              message: `The coding was changed meanwhile (version ${invoice.codingVersion}, not ${version}); reload it and edit again`,
              details: [{ version: invoice.codingVersion }],
            });
          }
          const problems = codingSumProblems(rows, invoice);
          if (problems.length > 0) {
            throw ApplicationFailure.create({
              type: 'CodingInvalid',
              nonRetryable: true,
              message: `The coding rows do not stand: ${problems.map((p) => p.message).join('; ')}`,
              details: problems,
            });
          }
          const c = invoice.currency;
          const wanted = rows.map((r) => ({ ...r, amount: format(money(r.amount, c)), taxCode: r.taxCode ?? null }));
          const before = await tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId)).orderBy(asc(codingRows.rowNo));
          const same = (a: (typeof before)[number], b: (typeof wanted)[number]) =>
            a.kind === b.kind &&
            a.account === b.account &&
            (a.taxCode ?? null) === b.taxCode &&
            format(money(a.amount, c)) === b.amount &&
            JSON.stringify(Object.entries(a.dimensions).sort()) === JSON.stringify(Object.entries(b.dimensions).sort());
          const changes: string[] = [];
          const kept: (typeof before)[number][] = [];
          for (const [i, old] of before.entries()) {
            const next = wanted[i];
            if (next && same(old, next)) {
              kept.push(old);
              continue;
            }
            await tx.delete(codingRows).where(and(eq(codingRows.id, old.id), eq(codingRows.invoiceId, invoiceId)));
            const oldRow = { ...old, taxCode: old.taxCode ?? null };
            changes.push(next ? `row ${i + 1}: ${describe(oldRow)} → ${describe(next)}` : `row ${i + 1} removed: ${describe(oldRow)}`);
          }
          for (const [i, next] of wanted.entries()) {
            if (kept.some((k) => k.rowNo === i + 1)) continue;
            await tx.insert(codingRows).values({ invoiceId, rowNo: i + 1, ...next });
            if (!before[i]) changes.push(`row ${i + 1} added: ${describe(next)}`);
          }
          const next = version + 1;
          await tx.update(invoices).set({ codingVersion: next, updatedAt: new Date() }).where(eq(invoices.id, invoiceId));
          for (const [i, change] of changes.entries()) {
            await audit(tx, {
              companyId: invoice.companyId,
              invoiceId,
              actor: by,
              kind: 'coding_changed',
              message: `Coding ${change}`,
              eventKey: `${invoice.workflowId}:coding:v${next}:${i}`,
            });
          }
          const after = await tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId)).orderBy(asc(codingRows.rowNo));
          return { version: next, rows: after.map((r) => ({ id: r.id, kind: r.kind, dimensions: r.dimensions })), changes };
        });
      },
    ),
  };
}
