import { sql } from 'drizzle-orm';
import type { Tx } from './client';

/**
 * Transaction-scoped lock on one invoice id. Intake holds it from insert to commit, and the
 * workflow's first activity takes it too, so that activity never reads before intake committed.
 */
export async function lockInvoice(tx: Tx, invoiceId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${invoiceId}, 0))`);
}
