/**
 * The sales vocabulary, defined once: the database schema, the API schemas and the posting rules
 * import these lists (SPEC 2.5).
 */

/** A customer's payment terms; `cash_sales_only` customers pay when they buy (post and pay). */
export const PAYMENT_TERMS = ['due_on_receipt', 'net_7', 'net_14', 'net_30', 'net_60', 'net_90', 'cash_sales_only'] as const;
export type PaymentTerms = (typeof PAYMENT_TERMS)[number];

/** Days from the invoice date to the due date under each of the terms. */
export const TERM_DAYS: Record<PaymentTerms, number> = {
  due_on_receipt: 0,
  net_7: 7,
  net_14: 14,
  net_30: 30,
  net_60: 60,
  net_90: 90,
  cash_sales_only: 0,
};

/** How a cash sale is paid at the counter. */
export const PAYMENT_METHODS = ['cash', 'card', 'bank_transfer'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export const SALES_INVOICE_STATES = ['unposted', 'posted'] as const;
export type SalesInvoiceState = (typeof SALES_INVOICE_STATES)[number];

export const POSTING_MODES = ['all-or-nothing', 'postable-only'] as const;
export type PostingMode = (typeof POSTING_MODES)[number];

export const POSTING_RUN_STATES = ['running', 'completed', 'cancelled'] as const;
export type PostingRunState = (typeof POSTING_RUN_STATES)[number];
