/**
 * Exact money: amounts are dinero.js objects over bigint minor units, written in JSON and in
 * Postgres as decimal strings with the currency's minor digits ("1234.50", "100" for JPY).
 */
import {
  add,
  allocate,
  dinero,
  equal,
  isNegative,
  isZero,
  lessThanOrEqual,
  subtract,
  toDecimal,
  toSnapshot,
  type Dinero,
} from 'dinero.js/bigint';
import * as currencies from 'dinero.js/bigint/currencies';

export type Money = Dinero<bigint>;
type Currency = (typeof currencies)['EUR'];

/** Decimal currencies only: MGA and MRU divide by five, which amounts written as decimals cannot express. */
const byCode = new Map<string, Currency>(
  Object.values(currencies as Record<string, Currency>)
    .filter((c) => c.base === 10n)
    .map((c) => [c.code, c]),
);

export class MoneyError extends Error {
  override name = 'MoneyError';
}

/** True for an ISO 4217 code we can account in. */
export function isCurrency(code: string): boolean {
  return byCode.has(code);
}

function currencyOf(code: string): Currency {
  const currency = byCode.get(code);
  if (!currency) throw new MoneyError(`unknown currency "${code}"`);
  return currency;
}

/** Number of minor digits of a currency: 2 for EUR, 0 for JPY, 3 for BHD. */
export function minorDigits(code: string): number {
  return exponentOf(currencyOf(code));
}

function exponentOf(currency: Currency): number {
  // eslint-disable-next-line no-restricted-syntax -- a currency's exponent is a digit count (0 to 4), not an amount
  return Number(currency.exponent);
}

const DECIMAL = /^(-)?(\d{1,15})(?:\.(\d+))?$/;

/**
 * Parses a decimal string exactly. More fraction digits than the currency has are refused unless
 * they are zeros ("12.50" and "12.5" and "12.500" are all EUR 12.50; "12.505" is an error).
 */
export function money(decimal: string, currencyCode: string): Money {
  const currency = currencyOf(currencyCode);
  const match = DECIMAL.exec(decimal.trim());
  if (!match) throw new MoneyError(`"${decimal}" is not a decimal amount`);
  const [, sign, whole, fraction = ''] = match;
  const digits = exponentOf(currency);
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > digits) {
    throw new MoneyError(`"${decimal}" has more than ${digits} decimals for ${currencyCode}`);
  }
  const minor = BigInt(`${whole}${significant.padEnd(digits, '0')}`);
  return dinero({ amount: sign ? -minor : minor, currency });
}

/** A zero amount in a currency. */
export function zero(currencyCode: string): Money {
  return dinero({ amount: 0n, currency: currencyOf(currencyCode) });
}

/** Decimal string with exactly the currency's minor digits. */
export function format(amount: Money): string {
  return toDecimal(amount);
}

export function currencyCodeOf(amount: Money): string {
  return toSnapshot(amount).currency.code;
}

/** An amount from its minor units (cents for EUR). */
export function fromMinorUnits(minor: bigint, currencyCode: string): Money {
  return dinero({ amount: minor, currency: currencyOf(currencyCode) });
}

/** Minor units as a bigint (cents for EUR). */
export function minorUnits(amount: Money): bigint {
  return toSnapshot(amount).amount;
}

export function sum(amounts: readonly Money[], currencyCode: string): Money {
  return amounts.reduce((acc, m) => add(acc, m), zero(currencyCode));
}

export const plus = add;
export const minus = subtract;
export { equal as sameAmount, isNegative, isZero, lessThanOrEqual };

/** Fraction digits that `scaledDecimal` scales every decimal to. */
const DECIMAL_SCALE = 18;

/**
 * A decimal string as an integer count of 10^-18, for exact arithmetic between decimals of any
 * precision and without a currency (limits, thresholds, agreement ranges). Up to 15 integer
 * digits; more than 18 fraction digits are refused unless they are zeros.
 */
export function scaledDecimal(decimal: string): bigint {
  const match = DECIMAL.exec(decimal.trim());
  if (!match) throw new MoneyError(`"${decimal}" is not a decimal amount`);
  const [, sign, whole, fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > DECIMAL_SCALE) throw new MoneyError(`"${decimal}" has more than ${DECIMAL_SCALE} decimals`);
  const units = BigInt(`${whole}${significant.padEnd(DECIMAL_SCALE, '0')}`);
  return sign ? -units : units;
}

/** Whether `scaledDecimal` and `compareDecimal` accept a string. */
export function isDecimal(value: string): boolean {
  try {
    scaledDecimal(value);
    return true;
  } catch (e) {
    if (e instanceof MoneyError) return false;
    throw e;
  }
}

function signOf(n: bigint): -1 | 0 | 1 {
  return n < 0n ? -1 : n > 0n ? 1 : 0;
}

/** Compares two decimal strings exactly, whatever their precision ("1000.005" < "1000.01", "1.50" = "1.5"). */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  return signOf(scaledDecimal(a) - scaledDecimal(b));
}

/** Whether `total` has reached `percent` % of `cap`, exactly: total × 100 ≥ cap × percent. */
export function reachedShare(total: string, cap: string, percent: bigint): boolean {
  return scaledDecimal(total) * 100n >= scaledDecimal(cap) * percent;
}

const PERCENT = /^(\d{1,3})(?:\.(\d{1,6}))?$/;
const PERCENT_SCALE = 6;

/** Parses a percentage like "33.3333" into an integer ratio (millionths of a percent). */
export function percentRatio(percent: string): bigint {
  const match = PERCENT.exec(percent);
  if (!match) throw new MoneyError(`"${percent}" is not a percentage`);
  const [, whole, fraction = ''] = match;
  return BigInt(`${whole}${fraction.padEnd(PERCENT_SCALE, '0')}`);
}

/** Writes a `percentRatio` back as a decimal without trailing zeros: 99990000n is "99.99". */
export function formatPercentRatio(ratio: bigint): string {
  const magnitude = ratio < 0n ? -ratio : ratio;
  const scale = 10n ** BigInt(PERCENT_SCALE);
  const fraction = (magnitude % scale).toString().padStart(PERCENT_SCALE, '0').replace(/0+$/, '');
  return `${ratio < 0n ? '-' : ''}${magnitude / scale}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Splits an amount by ratios so that the parts sum exactly to the amount; the minor units that
 * cannot be divided go to the largest shares first (dinero's allocate).
 */
export function split(amount: Money, ratios: readonly bigint[]): Money[] {
  if (ratios.length === 0) return [];
  if (ratios.every((r) => r === 0n)) throw new MoneyError('cannot split by ratios that are all zero');
  return allocate(amount, [...ratios]);
}
