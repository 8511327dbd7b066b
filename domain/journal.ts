/** Final posting: a balanced double-entry journal built from an invoice's coding rows. */
import { format, money, sameAmount, sum, zero, isNegative, minus, type Money } from './money';

export interface JournalLineDraft {
  account: string;
  debit: string;
  credit: string;
  dimensions: Record<string, string>;
  description: string;
}

export class UnbalancedJournalError extends Error {
  override name = 'UnbalancedJournalError';
}

export interface PurchasePostingInput {
  documentType: 'invoice' | 'credit_note';
  currency: string;
  gross: string;
  payableAccount: string;
  vendorName: string;
  invoiceNumber: string;
  codingRows: readonly { account: string; amount: string; dimensions: Record<string, string> }[];
}

/**
 * Expense and tax rows on the debit side against the vendor's payable on the credit side; a
 * credit note is the mirror image. Refuses coding that does not add up to the gross amount, so
 * an unbalanced journal can never be built.
 */
export function buildPurchaseJournal(input: PurchasePostingInput): JournalLineDraft[] {
  const gross = money(input.gross, input.currency);
  const coded = sum(
    input.codingRows.map((r) => money(r.amount, input.currency)),
    input.currency,
  );
  if (!sameAmount(coded, gross)) {
    throw new UnbalancedJournalError(`coding rows add up to ${format(coded)} but the invoice gross is ${format(gross)} ${input.currency}`);
  }
  const reverse = input.documentType === 'credit_note';
  const description = `${input.vendorName} ${input.invoiceNumber}`;
  const line = (account: string, amount: Money, debitSide: boolean, dimensions: Record<string, string>) => {
    // A negative amount belongs on the other side, so that every line is non-negative.
    const flip = isNegative(amount);
    const abs = flip ? minus(zero(input.currency), amount) : amount;
    const debit = debitSide !== flip;
    return {
      account,
      debit: format(debit ? abs : zero(input.currency)),
      credit: format(debit ? zero(input.currency) : abs),
      dimensions,
      description,
    };
  };
  const lines = input.codingRows.map((r) => line(r.account, money(r.amount, input.currency), !reverse, r.dimensions));
  lines.push(line(input.payableAccount, gross, reverse, {}));
  assertBalanced(lines, input.currency);
  return lines.filter((l) => l.debit !== l.credit); // drop lines that are zero on both sides
}

/** Total debit and total credit of journal lines. */
export function journalTotals(lines: readonly { debit: string; credit: string }[], currency: string): { debit: string; credit: string } {
  return {
    debit: format(
      sum(
        lines.map((l) => money(l.debit, currency)),
        currency,
      ),
    ),
    credit: format(
      sum(
        lines.map((l) => money(l.credit, currency)),
        currency,
      ),
    ),
  };
}

export function assertBalanced(lines: readonly { debit: string; credit: string }[], currency: string): void {
  const totals = journalTotals(lines, currency);
  if (totals.debit !== totals.credit) {
    throw new UnbalancedJournalError(`debit ${totals.debit} does not equal credit ${totals.credit} ${currency}`);
  }
}
