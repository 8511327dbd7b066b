/**
 * Bulk re-review (`POST /invoices/review`, NDJSON progress) of N invoices waiting in `new`,
 * against the same number of bare Updates: the API's answer for every invoice (the workflow took
 * the request) and the moment the last review result is written to Postgres.
 */
import { and, gte, inArray, sql } from 'drizzle-orm';
import { invoiceReviews } from '../db/schema';
import { call, figure, intakeInvoices, type LatencyFigure, type Rig } from './batch-speed';

export interface BulkReviewFigure extends LatencyFigure {
  /** From the request until every invoice's new review is written. */
  settledSeconds: number;
}

export async function bulkReviewFigure(rig: Rig, count: number): Promise<BulkReviewFigure> {
  const ids = await intakeInvoices(rig, count, `REVIEW${count}-${Date.now()}`);
  const since = new Date();
  const started = performance.now();
  const res = await call(rig, 'erin', 'POST', '/invoices/review', { invoiceIds: ids }, 'application/x-ndjson');
  const lines = (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ms?: number; ok?: boolean; done?: boolean; failed?: number });
  const answered = performance.now() - started;
  const summary = lines.at(-1)!;
  if (res.status !== 200 || !summary.done || summary.failed) {
    throw new Error(`bulk review of ${count} failed: ${res.status} ${JSON.stringify(lines.filter((l) => l.ok === false).slice(0, 3))}`);
  }
  for (;;) {
    let written = 0;
    for (let i = 0; i < ids.length; i += 5000) {
      const [row] = await rig.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(invoiceReviews)
        .where(and(inArray(invoiceReviews.invoiceId, ids.slice(i, i + 5000)), gte(invoiceReviews.reviewedAt, since)));
      written += row!.n;
    }
    if (written >= ids.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const settled = performance.now() - started;
  return {
    ...figure(
      `bulk re-review of ${count} invoices (API)`,
      lines.filter((l) => typeof l.ms === 'number').map((l) => l.ms!),
      answered,
    ),
    settledSeconds: settled / 1000,
  };
}
