/** Coding templates: percentages of the net amount plus a tax coding, split exactly. */
import { format, formatPercentRatio, minus, money, percentRatio, sameAmount, split, sum, isZero, MoneyError } from './money';

export type Dimensions = Record<string, string>;

export interface CodingTemplateRow {
  account: string;
  percent: string;
  dimensions?: Dimensions;
  taxCode?: string;
}

export interface CodingTemplate {
  rows: readonly CodingTemplateRow[];
  taxAccount: string;
  taxCode?: string | null;
}

export interface CodingRowDraft {
  rowNo: number;
  kind: 'expense' | 'tax';
  account: string;
  dimensions: Dimensions;
  taxCode?: string;
  amount: string;
}

const HUNDRED_PERCENT = percentRatio('100');

/** Problems with a template, in words; empty when it can be applied. */
export function codingTemplateProblems(template: CodingTemplate): string[] {
  const problems: string[] = [];
  if (template.rows.length === 0) problems.push('a coding template needs at least one row');
  let total = 0n;
  for (const [i, row] of template.rows.entries()) {
    try {
      total += percentRatio(row.percent);
    } catch (e) {
      problems.push(`row ${i + 1}: ${(e as Error).message}`);
    }
  }
  if (problems.length === 0 && total !== HUNDRED_PERCENT) {
    problems.push(`row percentages add up to ${formatPercentRatio(total)}%, not 100%`);
  }
  if (!template.taxAccount) problems.push('a coding template needs a tax account');
  return problems;
}

/**
 * Applies a template to an invoice's net and tax: expense rows split the net by percentage so
 * that they sum exactly to it, and one tax row carries the tax (none when the tax is zero).
 */
export function applyCodingTemplate(template: CodingTemplate, amounts: { net: string; tax: string; currency: string }): CodingRowDraft[] {
  const problems = codingTemplateProblems(template);
  if (problems.length > 0) throw new MoneyError(problems.join('; '));
  const net = money(amounts.net, amounts.currency);
  const tax = money(amounts.tax, amounts.currency);
  const parts = split(
    net,
    template.rows.map((r) => percentRatio(r.percent)),
  );
  const rows: CodingRowDraft[] = template.rows.map((row, i) => ({
    rowNo: i + 1,
    kind: 'expense',
    account: row.account,
    dimensions: { ...(row.dimensions ?? {}) },
    ...(row.taxCode ? { taxCode: row.taxCode } : {}),
    amount: format(parts[i]!),
  }));
  if (!isZero(tax)) {
    rows.push({
      rowNo: rows.length + 1,
      kind: 'tax',
      account: template.taxAccount,
      dimensions: {},
      ...(template.taxCode ? { taxCode: template.taxCode } : {}),
      amount: format(tax),
    });
  }
  return rows;
}

/** A coding row as a person enters it (the invoice's currency applies). */
export interface CodingRowInput {
  kind: 'expense' | 'tax';
  amount: string;
}

/**
 * Why coding rows cannot stand for an invoice, as `{path, message}` details (empty when they can):
 * amounts valid in the currency, at least one expense row, expense rows adding up exactly to the
 * net and tax rows to the tax, with the difference named.
 */
export function codingSumProblems(
  rows: readonly CodingRowInput[],
  invoice: { net: string; tax: string; currency: string },
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const amounts = rows.map((r, i) => {
    try {
      return money(r.amount, invoice.currency);
    } catch (e) {
      if (!(e instanceof MoneyError)) throw e;
      problems.push({ path: `rows.${i}.amount`, message: e.message });
      return undefined;
    }
  });
  if (!rows.some((r) => r.kind === 'expense')) problems.push({ path: 'rows', message: 'at least one expense row is needed' });
  if (problems.length > 0) return problems;
  for (const [kind, total] of [
    ['expense', invoice.net],
    ['tax', invoice.tax],
  ] as const) {
    const coded = sum(
      amounts.filter((_, i) => rows[i]!.kind === kind).map((a) => a!),
      invoice.currency,
    );
    const expected = money(total, invoice.currency);
    if (!sameAmount(coded, expected)) {
      const what = kind === 'expense' ? 'net' : 'tax';
      problems.push({
        path: 'rows',
        message: `the ${kind} rows add up to ${format(coded)}, not the ${what} ${format(expected)} (difference ${format(minus(expected, coded))})`,
      });
    }
  }
  return problems;
}
