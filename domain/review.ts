/**
 * Automatic purchase-invoice review (SPEC 2.3): rules on header fields and coding rows, and the
 * check against an obligation (purchase order). Pure and deterministic: the same invoice, rule
 * versions and obligation facts always give the same result; it never throws on any invoice.
 */
import { describeTest, passes, testProblem, type FieldTest } from './conditions';
import { compareDecimal, format, fromMinorUnits, isDecimal, minorUnits, money, MoneyError, plus, type Money } from './money';

/** Header fields a rule can test. */
export const REVIEW_FIELDS = [
  'invoiceNumber',
  'buyerReference',
  'orderReference',
  'contractReference',
  'currency',
  'documentType',
  'vendorName',
  'invoiceDate',
  'dueDate',
  'net',
  'tax',
  'gross',
] as const;
export type ReviewField = (typeof REVIEW_FIELDS)[number];

export type ReviewCondition =
  /** A header field must pass the test. */
  | { kind: 'field'; field: ReviewField; test: FieldTest; value?: string }
  /** Rows whose account lies in `from`..`to` (compared as text, e.g. 6000..6999) must carry the dimension. */
  | { kind: 'accountsNeedDimension'; from: string; to: string; dimension: string }
  /** Expense rows must use one of these cost centres (pair with applicability `vendorIds`: "vendor X must use cost centre Y"). */
  | { kind: 'costCentreIn'; costCentres: string[] }
  /** Above this gross, the reference must be present. */
  | { kind: 'amountNeedsReference'; above: string; reference: 'contractReference' | 'orderReference' };

export interface ReviewApplicability {
  vendorIds?: string[];
  documentType?: 'invoice' | 'credit_note';
  /** Gross range, inclusive, compared exactly. */
  amountFrom?: string;
  amountTo?: string;
}

/** One version of a rule, as it was when it reviewed an invoice. */
export interface ReviewRuleVersion {
  id: string;
  version: number;
  name: string;
  message: string;
  applicability: ReviewApplicability;
  conditions: ReviewCondition[];
}

export interface ReviewedInvoice {
  vendorId: string;
  vendorName: string;
  documentType: 'invoice' | 'credit_note';
  invoiceNumber: string;
  invoiceDate: string;
  dueDate: string;
  currency: string;
  net: string;
  tax: string;
  gross: string;
  buyerReference: string | null;
  orderReference: string | null;
  contractReference: string | null;
}

export interface ReviewedRow {
  id: string;
  kind: 'expense' | 'tax';
  account: string;
  dimensions: Record<string, string>;
}

/** What the obligation check needs: the obligation an order reference names, and what other invoices have taken of it. */
export interface ObligationFacts {
  orderNumber: string;
  /** Undefined when no obligation of the vendor carries the order reference. */
  obligation?: {
    id: string;
    amount: string;
    currency: string;
    tolerancePercent: string | null;
    toleranceAmount: string | null;
    /** The gross of the other invoices counted against it. */
    invoicedBefore: string;
  };
}

export interface Mark {
  ruleId: string;
  message: string;
}

export type ReviewStatus = 'correct' | 'incorrect' | 'not_reviewed' | 'manually_correct';

export interface ReviewResult {
  status: 'correct' | 'incorrect';
  /** Marks per coding row id; a row without marks is correct (green). */
  rows: Record<string, Mark[]>;
  /** Marks per header field; a field without marks is correct. */
  fields: Record<string, Mark[]>;
  /** The rule versions that took part (applied to this invoice). */
  ruleVersions: { id: string; version: number }[];
  /** Every failed check, once, in words: for the audit trail and an automatic rejection's comment. */
  failed: { ruleId: string; name: string; message: string }[];
}

/** The obligation check's id in marks and `failed`. */
export const OBLIGATION_RULE = 'obligation';

/** Why a rule cannot be saved, as `{path, message}` details (empty when it can). */
export function ruleProblems(rule: Pick<ReviewRuleVersion, 'applicability' | 'conditions'>): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const { amountFrom, amountTo } = rule.applicability;
  for (const [key, value] of [
    ['amountFrom', amountFrom],
    ['amountTo', amountTo],
  ] as const) {
    if (value !== undefined && !isDecimal(value))
      problems.push({ path: `applicability.${key}`, message: 'must be a number such as "1000.00"' });
  }
  if (amountFrom && amountTo && isDecimal(amountFrom) && isDecimal(amountTo) && compareDecimal(amountFrom, amountTo) > 0) {
    problems.push({ path: 'applicability.amountTo', message: 'must not be below amountFrom' });
  }
  if (rule.conditions.length === 0) problems.push({ path: 'conditions', message: 'a rule needs at least one condition' });
  rule.conditions.forEach((c, i) => {
    const at = `conditions.${i}`;
    if (c.kind === 'field') {
      const problem = testProblem(c.test, c.value);
      if (problem) problems.push({ path: `${at}.value`, message: problem });
    } else if (c.kind === 'accountsNeedDimension') {
      if (c.from > c.to) problems.push({ path: `${at}.to`, message: 'must not be before from' });
    } else if (c.kind === 'costCentreIn') {
      if (c.costCentres.length === 0) problems.push({ path: `${at}.costCentres`, message: 'name at least one cost centre' });
    } else if (!isDecimal(c.above)) {
      problems.push({ path: `${at}.above`, message: 'must be a number such as "10000.00"' });
    }
  });
  return problems;
}

function applies(rule: ReviewRuleVersion, invoice: ReviewedInvoice): boolean {
  const a = rule.applicability;
  if (a.vendorIds && a.vendorIds.length > 0 && !a.vendorIds.includes(invoice.vendorId)) return false;
  if (a.documentType && a.documentType !== invoice.documentType) return false;
  if (!isDecimal(invoice.gross)) return true;
  if (a.amountFrom && isDecimal(a.amountFrom) && compareDecimal(invoice.gross, a.amountFrom) < 0) return false;
  if (a.amountTo && isDecimal(a.amountTo) && compareDecimal(invoice.gross, a.amountTo) > 0) return false;
  return true;
}

function fieldValue(invoice: ReviewedInvoice, field: ReviewField): string | null {
  return field === 'vendorName' ? invoice.vendorName : invoice[field];
}

/** Reviews an invoice with the given rule versions and obligation facts. */
export function reviewInvoice(
  invoice: ReviewedInvoice,
  rows: readonly ReviewedRow[],
  rules: readonly ReviewRuleVersion[],
  obligation?: ObligationFacts,
): ReviewResult {
  const result: ReviewResult = { status: 'correct', rows: {}, fields: {}, ruleVersions: [], failed: [] };
  // Own properties only: a row id such as "constructor" is just an id.
  const mark = (into: Record<string, Mark[]>, key: string, m: Mark) => {
    if (!Object.hasOwn(into, key)) into[key] = [];
    into[key]!.push(m);
  };
  const markRow = (rowId: string, m: Mark) => mark(result.rows, rowId, m);
  const markField = (field: string, m: Mark) => mark(result.fields, field, m);
  for (const rule of [...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!applies(rule, invoice)) continue;
    result.ruleVersions.push({ id: rule.id, version: rule.version });
    const ruleMark = { ruleId: rule.id, message: rule.message };
    let failed = false;
    for (const c of rule.conditions) {
      switch (c.kind) {
        case 'field':
          if (!passes(fieldValue(invoice, c.field), c.test, c.value)) {
            markField(c.field, ruleMark);
            failed = true;
          }
          break;
        case 'accountsNeedDimension':
          for (const row of rows) {
            if (row.account >= c.from && row.account <= c.to && !row.dimensions[c.dimension]?.trim()) {
              markRow(row.id, ruleMark);
              failed = true;
            }
          }
          break;
        case 'costCentreIn':
          for (const row of rows.filter((r) => r.kind === 'expense')) {
            const costCentre = row.dimensions.costCentre;
            if (!costCentre || !c.costCentres.includes(costCentre)) {
              markRow(row.id, ruleMark);
              failed = true;
            }
          }
          break;
        case 'amountNeedsReference':
          if (
            isDecimal(invoice.gross) &&
            isDecimal(c.above) &&
            compareDecimal(invoice.gross, c.above) > 0 &&
            !invoice[c.reference]?.trim()
          ) {
            markField(c.reference, ruleMark);
            failed = true;
          }
          break;
      }
    }
    if (failed) result.failed.push({ ruleId: rule.id, name: rule.name, message: rule.message });
  }
  if (obligation) {
    const problem = obligationProblem(invoice, obligation);
    if (problem) {
      markField('orderReference', { ruleId: OBLIGATION_RULE, message: problem });
      result.failed.push({ ruleId: OBLIGATION_RULE, name: 'Obligation', message: problem });
    }
  }
  result.status = result.failed.length > 0 ? 'incorrect' : 'correct';
  return result;
}

/**
 * An invoice is checked against the obligation its order reference names: the obligation must
 * exist and be in the invoice's currency, and what has been invoiced against it, this invoice
 * included, may not exceed its amount plus the tolerance (the larger of the percentage and the
 * absolute one). Below the amount it is a partial invoice, which is fine.
 */
export function obligationProblem(invoice: ReviewedInvoice, facts: ObligationFacts): string | undefined {
  const o = facts.obligation;
  if (!o) return `No obligation (purchase order) ${facts.orderNumber} of this vendor`;
  if (o.currency !== invoice.currency) return `Obligation ${facts.orderNumber} is in ${o.currency}, the invoice in ${invoice.currency}`;
  try {
    const c = invoice.currency;
    const amount = money(o.amount, c);
    const tolerance = toleranceOf(amount, o.tolerancePercent, o.toleranceAmount, c);
    const total = plus(money(o.invoicedBefore, c), money(invoice.gross, c));
    const allowed = plus(amount, tolerance);
    if (minorUnits(total) > minorUnits(allowed)) {
      return `Obligation ${facts.orderNumber} of ${format(amount)} ${c} (tolerance ${format(tolerance)}) would be exceeded: ${format(total)} invoiced with this invoice`;
    }
    return undefined;
  } catch (err) {
    if (err instanceof MoneyError) return `Obligation ${facts.orderNumber} cannot be checked: ${err.message}`;
    throw err;
  }
}

function toleranceOf(amount: Money, percent: string | null, absolute: string | null, currency: string): Money {
  let best = fromMinorUnits(0n, currency);
  if (percent && isDecimal(percent)) {
    // amount × percent / 100, rounded down to the currency's minor unit, exactly (percent has up to 6 decimals).
    const [whole, fraction = ''] = percent.split('.');
    const millionths = BigInt(`${whole}${fraction.padEnd(6, '0').slice(0, 6)}`);
    best = fromMinorUnits((minorUnits(amount) * millionths) / 100_000_000n, currency);
  }
  if (absolute && isDecimal(absolute)) {
    const abs = money(absolute, currency);
    if (minorUnits(abs) > minorUnits(best)) best = abs;
  }
  return best;
}

/** The automatic rejection's comment: the failed checks in words. */
export function rejectionComment(result: Pick<ReviewResult, 'failed'>): string {
  return `Rejected automatically by the invoice review: ${result.failed.map((f) => `${f.name}: ${f.message}`).join('; ')}`;
}

/** The review of a field test in words, for rule listings. */
export function describeCondition(c: ReviewCondition): string {
  switch (c.kind) {
    case 'field':
      return describeTest(c.field, c.test, c.value);
    case 'accountsNeedDimension':
      return `rows on accounts ${c.from} to ${c.to} carry ${c.dimension}`;
    case 'costCentreIn':
      return `expense rows use cost centre ${c.costCentres.join(' or ')}`;
    case 'amountNeedsReference':
      return `a gross above ${c.above} carries ${c.reference}`;
  }
}
