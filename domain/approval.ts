/** Approval rights: which coding rows a user may sign, by approval limit and dimension rights. */
import { compareDecimal } from './money';

/** Limit per currency; currency '*' applies to every currency; amount null means no limit. */
export interface ApprovalLimit {
  currency: string;
  amount: string | null;
}

export interface Approver {
  id: string;
  approvalLimits: readonly ApprovalLimit[];
  /** Cost centres the user may approve; empty means every cost centre. */
  costCentres: readonly string[];
}

export interface SignableRow {
  id: string;
  dimensions: Record<string, string>;
}

/** The limit that applies to an invoice currency: a currency's own limit wins over '*'. */
export function limitFor(approver: Approver, currency: string): ApprovalLimit | undefined {
  return approver.approvalLimits.find((l) => l.currency === currency) ?? approver.approvalLimits.find((l) => l.currency === '*');
}

/** Whether the approver's limit in the invoice currency covers the gross amount. */
export function withinLimit(approver: Approver, invoice: { currency: string; gross: string }): boolean {
  const limit = limitFor(approver, invoice.currency);
  if (!limit) return false;
  if (limit.amount === null) return true;
  // Exact decimals: a limit with cents covers a JPY invoice without any rounding.
  return compareDecimal(invoice.gross, limit.amount) <= 0;
}

/** Ids of the rows the approver may sign on this invoice. */
export function signableRows(approver: Approver, invoice: { currency: string; gross: string }, rows: readonly SignableRow[]): string[] {
  if (!withinLimit(approver, invoice)) return [];
  // Rows without a cost centre (the tax row, for one) need only the limit.
  return rows
    .filter((r) => {
      const costCentre = r.dimensions.costCentre;
      return approver.costCentres.length === 0 || costCentre === undefined || approver.costCentres.includes(costCentre);
    })
    .map((r) => r.id);
}
