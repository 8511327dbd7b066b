/**
 * Signatures as routing counts them: which rows still need whose signature, and who may never
 * sign an invoice. No money and no directory: the workflow's process uses these as they are.
 */

/** A coding row as routing sees it: its dimensions and who has signed its approval so far. */
export interface RoutingRow {
  id: string;
  dimensions: Record<string, string>;
  /** Approval signatures, first approver first. */
  approvers: readonly string[];
}

/** The invoice facts routing needs; fixed at intake except `codedBy`. */
export interface RoutingInvoice {
  companyId: string;
  currency: string;
  gross: string;
  confidential: boolean;
  /** Who submitted the invoice (segregation of duties). */
  registeredBy?: string | undefined;
  /** Who registered (coded) it in `new` (segregation of duties). */
  codedBy?: string | undefined;
}

/** Whether segregation of duties bars the user from approving: they submitted or coded the invoice. */
export function barredFromApproving(userId: string, invoice: RoutingInvoice): boolean {
  return userId === invoice.registeredBy || userId === invoice.codedBy;
}

/** A row still needs a signature from this user: it has fewer than `required` and none of theirs. */
export function rowNeeds(row: RoutingRow, userId: string, required: number): boolean {
  return row.approvers.length < required && !row.approvers.includes(userId);
}

/**
 * Whether an approver with these rights can act on an approval task: some row still needs their
 * signature, or (every row being signed already) they confirm with rights on at least one row.
 */
export function canApproveWith(rights: readonly string[], rows: readonly RoutingRow[], userId: string, required: number): boolean {
  if (rights.length === 0) return false;
  const open = rows.filter((r) => r.approvers.length < required);
  if (open.length === 0) return true;
  return open.some((r) => rights.includes(r.id) && rowNeeds(r, userId, required));
}
