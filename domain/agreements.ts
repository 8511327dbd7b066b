/** Agreement (contract) invoices: which definition an incoming invoice matches, and why not. */
import { compareDecimal, reachedShare, scaledDecimal } from './money';

export interface AgreementDefinition {
  id: string;
  vendorId: string;
  referencePattern: string | null;
  invoiceNumber: string | null;
  amountFrom: string;
  amountTo: string;
  days: number;
  cumulativeCap: string | null;
  cumulativeTotal: string;
}

export interface IncomingInvoice {
  vendorId: string;
  invoiceNumber: string;
  invoiceDate: string;
  currency: string;
  gross: string;
  buyerReference: string | null;
  contractReference: string | null;
}

export type Criterion = 'vendor' | 'reference' | 'invoice_number' | 'amount' | 'days' | 'cap';

export interface MatchOutcome {
  match?: AgreementDefinition;
  /** Definitions of the invoice's vendor that failed one criterion, with the first that failed. */
  nearMisses: { agreementId: string; criterion: Criterion; message: string }[];
}

/**
 * `%` and `*` match any run of characters (also none); everything else is literal, so a `.` or
 * `[` in a reference is just that character. Case-insensitive, whole value.
 */
export function referenceMatches(pattern: string, value: string): boolean {
  const parts = pattern.split(/[%*]/).map((p) => p.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 'is').test(value);
}

/** Days between two ISO dates, either order. */
export function daysBetween(a: string, b: string): number {
  return Math.abs(Date.parse(`${a}T00:00:00Z`) - Date.parse(`${b}T00:00:00Z`)) / 86_400_000;
}

/** Higher is more specific: an exact invoice number beats a reference, a literal reference beats a wildcard. */
export function specificity(d: AgreementDefinition): number {
  let score = 0;
  if (d.invoiceNumber) score += 100;
  if (d.referencePattern) score += /[%*]/.test(d.referencePattern) ? 10 + d.referencePattern.replace(/[%*]/g, '').length / 1000 : 50;
  return score;
}

/**
 * Checks every definition against an invoice. `matchedDates` are the invoice dates already matched
 * per definition. The most specific complete match wins; ties go to the narrowest amount range,
 * then the lowest id, so the choice never depends on order.
 */
export function matchAgreement(
  definitions: readonly AgreementDefinition[],
  invoice: IncomingInvoice,
  matchedDates: Readonly<Record<string, readonly string[]>>,
): MatchOutcome {
  const nearMisses: MatchOutcome['nearMisses'] = [];
  const complete: AgreementDefinition[] = [];
  for (const d of definitions) {
    const miss = firstMiss(d, invoice, matchedDates[d.id] ?? []);
    if (miss) {
      if (miss.criterion !== 'vendor') nearMisses.push({ agreementId: d.id, ...miss });
    } else complete.push(d);
  }
  complete.sort((a, b) => specificity(b) - specificity(a) || compareWidth(a, b) || a.id.localeCompare(b.id));
  return { ...(complete[0] ? { match: complete[0] } : {}), nearMisses };
}

/** The narrower amount range first, compared exactly. */
function compareWidth(a: AgreementDefinition, b: AgreementDefinition): number {
  const width = (d: AgreementDefinition) => scaledDecimal(d.amountTo) - scaledDecimal(d.amountFrom);
  const difference = width(a) - width(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

const NEAR_CAP_PERCENT = 90n;

/** Whether an agreement's cumulative total has reached 90 % of its cap, exactly; false without a positive cap. */
export function nearCap(cumulativeTotal: string, cumulativeCap: string | null): boolean {
  if (cumulativeCap === null || compareDecimal(cumulativeCap, '0') <= 0) return false;
  return reachedShare(cumulativeTotal, cumulativeCap, NEAR_CAP_PERCENT);
}

function firstMiss(
  d: AgreementDefinition,
  inv: IncomingInvoice,
  dates: readonly string[],
): { criterion: Criterion; message: string } | undefined {
  if (d.vendorId !== inv.vendorId) return { criterion: 'vendor', message: 'another vendor' };
  if (d.referencePattern) {
    const refs = [inv.buyerReference, inv.contractReference].filter((r): r is string => !!r);
    if (!refs.some((r) => referenceMatches(d.referencePattern!, r))) {
      return { criterion: 'reference', message: `neither the buyer nor the contract reference matches "${d.referencePattern}"` };
    }
  }
  if (d.invoiceNumber && d.invoiceNumber !== inv.invoiceNumber) {
    return { criterion: 'invoice_number', message: `the invoice number is not ${d.invoiceNumber}` };
  }
  // Exact decimals, not money in the invoice currency: an agreement with cents still matches a JPY invoice.
  if (compareDecimal(d.amountFrom, inv.gross) > 0 || compareDecimal(inv.gross, d.amountTo) > 0) {
    return { criterion: 'amount', message: `the gross ${inv.gross} is outside ${d.amountFrom} to ${d.amountTo}` };
  }
  const close = dates.find((date) => daysBetween(date, inv.invoiceDate) < d.days);
  if (close) return { criterion: 'days', message: `an invoice dated ${close} matched less than ${d.days} days from ${inv.invoiceDate}` };
  if (d.cumulativeCap !== null && compareDecimal(d.cumulativeTotal, d.cumulativeCap) > 0) {
    return { criterion: 'cap', message: `the cumulative total ${d.cumulativeTotal} has passed the cap ${d.cumulativeCap}` };
  }
  return undefined;
}
