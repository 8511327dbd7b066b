/**
 * Sales invoices, the pure part (SPEC 2.5): exact line and invoice totals, the blockers that keep
 * an invoice from mass posting (in a clerk's words), and the balanced journal of a posting, with
 * or without its payment. No database, no Temporal: the API and the activities call these.
 */
import { assertBalanced, UnbalancedJournalError, type JournalLineDraft } from './journal';
import { format, fromMinorUnits, minorDigits, minorUnits, money, sameAmount, scaledDecimal, sum, zero, type Money } from './money';
import type { PaymentTerms } from './sales-terms';

const SCALE = 10n ** 18n; // scaledDecimal's unit

/** `numerator / denominator` rounded half away from zero. */
function divideRounded(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const q = (n + d / 2n) / d;
  return negative ? -q : q;
}

export interface LineInput {
  quantity: string;
  unitPrice: string;
  taxRate: string;
}

export interface LineAmounts {
  net: string;
  tax: string;
}

/**
 * A line's net (quantity × unit price) and tax (net × rate), each rounded half away from zero to
 * the currency's minor unit once; the invoice's totals are the sums of the rounded lines, so
 * they always add up to what each line shows.
 */
export function lineAmounts(line: LineInput, currency: string): LineAmounts {
  const minor = 10n ** BigInt(minorDigits(currency));
  const net = divideRounded(scaledDecimal(line.quantity) * scaledDecimal(line.unitPrice) * minor, SCALE * SCALE);
  const tax = divideRounded(net * scaledDecimal(line.taxRate), 100n * SCALE);
  return { net: format(fromMinorUnits(net, currency)), tax: format(fromMinorUnits(tax, currency)) };
}

export interface InvoiceTotals {
  lines: LineAmounts[];
  net: string;
  tax: string;
  gross: string;
}

/** Every line's amounts and the invoice's net, tax and gross (gross = net + tax, exactly). */
export function invoiceTotals(lines: readonly LineInput[], currency: string): InvoiceTotals {
  const amounts = lines.map((l) => lineAmounts(l, currency));
  const net = sum(
    amounts.map((a) => money(a.net, currency)),
    currency,
  );
  const tax = sum(
    amounts.map((a) => money(a.tax, currency)),
    currency,
  );
  return { lines: amounts, net: format(net), tax: format(tax), gross: format(sum([net, tax], currency)) };
}

/** Whether a quantity is a whole number of units (serial numbers are loaded one per unit). */
export function wholeUnits(quantity: string): bigint | undefined {
  const scaled = scaledDecimal(quantity);
  return scaled % SCALE === 0n && scaled >= 0n ? scaled / SCALE : undefined;
}

export type BlockerCode = 'customer_item_not_reviewed' | 'cash_sales_only' | 'serial_number_missing' | 'already_posted' | 'being_posted';

export interface Blocker {
  code: BlockerCode;
  /** The line it concerns, when it is a line's. */
  lineNo?: number;
  message: string;
}

export interface BlockerFacts {
  state: 'unposted' | 'posted';
  /** A posting run holds it already. */
  heldByPosting: boolean;
  paymentTerms: PaymentTerms;
  customerName: string;
  /** The setting "require user confirmation of customer item details before posting invoice". */
  requireCustomerItemReview: boolean;
  lines: readonly {
    lineNo: number;
    description: string;
    quantity: string;
    requiresSerialNumbers: boolean;
    serialNumbers: number;
    /** The line's customer item, when its product creates one. */
    customerItem?: { reviewed: boolean };
  }[];
}

/** Why an invoice cannot be mass posted, every reason at once, in a clerk's words; empty when it can. */
export function salesBlockers(f: BlockerFacts): Blocker[] {
  if (f.state === 'posted') return [{ code: 'already_posted', message: 'This invoice is already posted' }];
  const blockers: Blocker[] = [];
  if (f.heldByPosting) blockers.push({ code: 'being_posted', message: 'Another posting run is posting this invoice right now' });
  if (f.paymentTerms === 'cash_sales_only') {
    blockers.push({
      code: 'cash_sales_only',
      message: `${f.customerName} has cash-sales-only payment terms: post this invoice on its own, together with its payment (Post and pay)`,
    });
  }
  for (const line of f.lines) {
    if (f.requireCustomerItemReview && line.customerItem && !line.customerItem.reviewed) {
      blockers.push({
        code: 'customer_item_not_reviewed',
        lineNo: line.lineNo,
        message: `The customer item of line ${line.lineNo} (${line.description}) needs to be reviewed: open the invoice and confirm its details`,
      });
    }
    if (line.requiresSerialNumbers) {
      const needed = wholeUnits(line.quantity) ?? 0n;
      const missing = needed - BigInt(line.serialNumbers);
      if (missing > 0n) {
        blockers.push({
          code: 'serial_number_missing',
          lineNo: line.lineNo,
          message: `Line ${line.lineNo} (${line.description}) needs ${needed} serial number${needed === 1n ? '' : 's'}; ${missing} ${missing === 1n ? 'is' : 'are'} missing: load them on the invoice line`,
        });
      }
    }
  }
  return blockers;
}

export interface SalesPostingInput {
  currency: string;
  net: string;
  tax: string;
  gross: string;
  invoiceNumber: string;
  customerName: string;
  receivableAccount: string;
  taxAccount: string;
  lines: readonly { revenueAccount: string; net: string; taxRate: string; tax: string }[];
}

export interface PaymentInput {
  account: string;
  amount: string;
  method: string;
  /** The day it was paid. */
  date: string;
}

/**
 * The balanced journal of a sales invoice: the receivable (gross) on the debit side against
 * revenue per account and tax per rate on the credit side. With a payment (post and pay), the
 * same entry also moves the gross from the receivable to the cash or bank account; a payment that
 * is not exactly the gross is refused.
 */
export function buildSalesJournal(input: SalesPostingInput, payment?: PaymentInput): JournalLineDraft[] {
  const c = input.currency;
  const m = (v: string) => money(v, c);
  const gross = m(input.gross);
  const lineNet = sum(
    input.lines.map((l) => m(l.net)),
    c,
  );
  const lineTax = sum(
    input.lines.map((l) => m(l.tax)),
    c,
  );
  if (!sameAmount(lineNet, m(input.net)) || !sameAmount(lineTax, m(input.tax)) || !sameAmount(sum([lineNet, lineTax], c), gross)) {
    throw new UnbalancedJournalError(
      `lines add up to net ${format(lineNet)} and tax ${format(lineTax)}, but the invoice says net ${input.net}, tax ${input.tax}, gross ${input.gross} ${c}`,
    );
  }
  const description = `${input.customerName} ${input.invoiceNumber}`;
  const draft = (account: string, debit: Money, credit: Money, dimensions: Record<string, string> = {}): JournalLineDraft => ({
    account,
    debit: format(debit),
    credit: format(credit),
    dimensions,
    description,
  });
  const none = zero(c);
  const lines: JournalLineDraft[] = [draft(input.receivableAccount, gross, none)];
  for (const [account, amount] of grouped(
    input.lines,
    (l) => l.revenueAccount,
    (l) => m(l.net),
    c,
  ))
    lines.push(draft(account, none, amount));
  for (const [rate, amount] of grouped(
    input.lines,
    (l) => l.taxRate,
    (l) => m(l.tax),
    c,
  )) {
    lines.push(draft(input.taxAccount, none, amount, { taxRate: rate }));
  }
  if (payment) {
    const paid = m(payment.amount);
    if (!sameAmount(paid, gross)) {
      throw new PaymentMismatchError(`the payment of ${format(paid)} ${c} does not equal the invoice's gross of ${format(gross)} ${c}`);
    }
    lines.push(
      draft(payment.account, paid, none, { paymentMethod: payment.method, paymentDate: payment.date }),
      draft(input.receivableAccount, none, paid),
    );
  }
  const nonZero = lines.filter((l) => minorUnits(m(l.debit)) !== 0n || minorUnits(m(l.credit)) !== 0n);
  assertBalanced(nonZero, c);
  return nonZero;
}

export class PaymentMismatchError extends Error {
  override name = 'PaymentMismatchError';
}

/** Sums of `amount` per key, in the order the keys first appear. */
function grouped<T>(items: readonly T[], key: (t: T) => string, amount: (t: T) => Money, currency: string): Map<string, Money> {
  const out = new Map<string, Money>();
  for (const item of items) {
    const k = normalisedKey(key(item));
    out.set(k, sum([out.get(k) ?? zero(currency), amount(item)], currency));
  }
  return out;
}

/** "25.00" and "25" are one tax rate. */
function normalisedKey(k: string): string {
  return /^\d+(\.\d+)?$/.test(k) ? k.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') : k;
}

/** The due date under payment terms: the invoice date plus the terms' days. */
export function dueDateFor(invoiceDate: string, days: number): string {
  const d = new Date(`${invoiceDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
