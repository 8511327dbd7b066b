/**
 * Final posting: the balanced journal entry, exactly once. A retry, or a second call for any
 * reason, finds the entry by its unique invoice id and returns it unchanged. An invoice that
 * cannot be posted (unsigned rows, coding that does not balance, nothing to post) is refused for
 * good with the reason, and the workflow sends it to exceptions review.
 */
import { ApplicationFailure } from '@temporalio/common';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { codingRows, invoices, journalEntries, journalLines, settings, vendors } from '../db/schema';
import { buildPurchaseJournal } from '../domain/journal';
import { audit } from './audit';
import { activity, invoiceNotFound } from './failures';

export function postInvoiceActivity({ db, clock }: { db: Db; clock: () => Date }) {
  return {
    postInvoice: activity(
      z.strictObject({ invoiceId: z.uuid() }),
      async ({ invoiceId }): Promise<{ journalEntryId: string; created: boolean }> => {
        return db.transaction(async (tx) => {
          // The invoice (locked), its vendor's name, the payable account, and an entry written before: one read.
          const [found] = await tx
            .select({
              invoice: invoices,
              vendorName: vendors.name,
              payableAccount: settings.payableAccount,
              existingId: journalEntries.id,
            })
            .from(invoices)
            .leftJoin(vendors, eq(vendors.id, invoices.vendorId))
            .leftJoin(settings, eq(settings.companyId, invoices.companyId))
            .leftJoin(journalEntries, eq(journalEntries.invoiceId, invoices.id))
            .where(eq(invoices.id, invoiceId))
            .for('update', { of: invoices });
          if (!found) throw invoiceNotFound(invoiceId);
          if (found.existingId) return { journalEntryId: found.existingId, created: false };
          const { invoice } = found;
          const vendorName = found.vendorName ?? 'vendor';
          const rows = await tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId)).orderBy(asc(codingRows.rowNo));
          // The workflow only reaches payment with every row signed; the ledger checks it once more.
          const unsigned = rows.filter((r) => !r.approvedBy || r.approvedBy === invoice.createdBy);
          if (unsigned.length > 0) {
            throw ApplicationFailure.nonRetryable(
              `coding rows ${unsigned.map((r) => r.rowNo).join(', ')} carry no valid approval signature`,
              'UnsignedRows',
            );
          }
          const lines = buildPurchaseJournal({
            documentType: invoice.documentType,
            currency: invoice.currency,
            gross: invoice.gross,
            payableAccount: found.payableAccount ?? '2400',
            vendorName,
            invoiceNumber: invoice.invoiceNumber,
            codingRows: rows,
          });
          if (lines.length === 0)
            throw ApplicationFailure.nonRetryable('the journal would be empty: the invoice amounts are all zero', 'EmptyJournal');
          const [entry] = await tx
            .insert(journalEntries)
            .values({
              companyId: invoice.companyId,
              invoiceId,
              currency: invoice.currency,
              description: `${invoice.documentType === 'credit_note' ? 'Credit note' : 'Invoice'} ${invoice.invoiceNumber} from ${vendorName}`,
              postedAt: clock(),
            })
            .onConflictDoNothing({ target: journalEntries.invoiceId })
            .returning({ id: journalEntries.id });
          if (!entry) {
            // Another attempt committed first while this one waited for the row lock.
            const [winner] = await tx.select({ id: journalEntries.id }).from(journalEntries).where(eq(journalEntries.invoiceId, invoiceId));
            return { journalEntryId: winner!.id, created: false };
          }
          await tx.insert(journalLines).values(lines.map((l, i) => ({ entryId: entry.id, lineNo: i + 1, ...l })));
          await audit(tx, {
            companyId: invoice.companyId,
            invoiceId,
            actor: 'system',
            kind: 'posting',
            message: `Journal entry ${entry.id} written: ${lines.length} lines, ${invoice.gross} ${invoice.currency}`,
            eventKey: `${invoice.workflowId}:posting`,
          });
          return { journalEntryId: entry.id, created: true };
        });
      },
    ),
  };
}
