/**
 * Amounts and dates in the user's locale. Amounts stay decimal strings end to end:
 * Intl.NumberFormat formats the string itself ("1234.50" keeps every digit), never a float.
 */

const locale = (): string | undefined => (typeof navigator === 'undefined' ? undefined : navigator.language);

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** "1234.50" EUR as the user's locale writes it, e.g. "€1,234.50" or "1.234,50 €". */
export function money(amount: string, currency: string): string {
  let f = moneyFormats.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale(), { style: 'currency', currency });
    } catch {
      // An unknown currency code: the amount as a plain decimal and the code beside it.
      return `${amount} ${currency}`;
    }
    moneyFormats.set(currency, f);
  }
  return f.format(amount as Intl.StringNumericLiteral);
}

/** A decimal string without currency (percentages, quantities, limits), grouped as the locale does. */
export function decimal(value: string): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 6 }).format(value as Intl.StringNumericLiteral);
}

const dateFormat = () => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' });
const timeFormat = () => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' });

/** A calendar date (`2026-12-01`) in the user's locale; the day never shifts with the time zone. */
export function date(isoDate: string | null | undefined): string {
  if (!isoDate) return '–';
  const d = new Date(`${isoDate.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? isoDate : dateFormat().format(d);
}

/** A moment (`2026-11-24T12:00:00Z`) in the user's locale and time zone. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : timeFormat().format(d);
}

const STAGE_NAMES: Record<string, string> = {
  new: 'New',
  review: 'Review',
  approval: 'Approval',
  control: 'Control',
  copy: 'Copy',
  payment: 'Payment',
  posted: 'Posted',
  exceptions_review: 'Exceptions review',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
};

/** A stage as people say it. */
export function stageName(stage: string | undefined): string {
  return stage ? (STAGE_NAMES[stage] ?? stage) : '–';
}

const REVIEW_NAMES: Record<string, string> = {
  correct: 'Correct',
  incorrect: 'Incorrect',
  not_reviewed: 'Not reviewed',
  manually_correct: 'Manually correct',
};

export function reviewName(status: string): string {
  return REVIEW_NAMES[status] ?? status;
}

/** Compares two decimal strings exactly (for sorting by amount without floats). */
export function compareDecimal(a: string, b: string): number {
  const parse = (s: string) => {
    const negative = s.startsWith('-');
    const [whole = '0', fraction = ''] = s.replace(/^[-+]/, '').split('.');
    return { negative, whole: whole.replace(/^0+(?=\d)/, ''), fraction: fraction.replace(/0+$/, '') };
  };
  const x = parse(a);
  const y = parse(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const sign = x.negative ? -1 : 1;
  if (x.whole.length !== y.whole.length) return sign * (x.whole.length - y.whole.length);
  if (x.whole !== y.whole) return sign * (x.whole < y.whole ? -1 : 1);
  const width = Math.max(x.fraction.length, y.fraction.length);
  const fx = x.fraction.padEnd(width, '0');
  const fy = y.fraction.padEnd(width, '0');
  return fx === fy ? 0 : sign * (fx < fy ? -1 : 1);
}
