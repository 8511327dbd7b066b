import fc from 'fast-check';
import {
  compareDecimal,
  format,
  formatPercentRatio,
  isDecimal,
  minorDigits,
  money,
  MoneyError,
  percentRatio,
  reachedShare,
  split,
  sum,
} from '../../domain/money';

describe('money', () => {
  it('parses decimal strings exactly, with the currency minor digits', () => {
    expect(format(money('1234.5', 'EUR'))).toBe('1234.50');
    expect(format(money('0.1', 'EUR'))).toBe('0.10');
    expect(format(money('100', 'JPY'))).toBe('100');
    expect(format(money('1.234', 'BHD'))).toBe('1.234');
    expect(minorDigits('JPY')).toBe(0);
  });

  it('adds 0.10 and 0.20 to exactly 0.30', () => {
    expect(format(sum([money('0.10', 'EUR'), money('0.20', 'EUR')], 'EUR'))).toBe('0.30');
  });

  it('refuses more decimals than the currency has, unknown currencies and non-numbers', () => {
    expect(() => money('12.505', 'EUR')).toThrow(MoneyError);
    expect(() => money('1.5', 'JPY')).toThrow(MoneyError);
    expect(() => money('12', 'XYZ')).toThrow(/unknown currency/);
    expect(() => money('1e3', 'EUR')).toThrow(MoneyError);
    expect(format(money('12.500', 'EUR'))).toBe('12.50');
  });

  it('splits so that the parts always sum to the whole', () => {
    const parts = split(money('100.00', 'EUR'), [percentRatio('33.3333'), percentRatio('33.3333'), percentRatio('33.3334')]);
    expect(parts.map(format)).toEqual(['33.33', '33.33', '33.34']);
    const thirds = split(money('0.10', 'EUR'), [1n, 1n, 1n]);
    expect(format(sum(thirds, 'EUR'))).toBe('0.10');
  });
});

/** `units` × 10^-scale written as a decimal string, e.g. (-1505n, 3) is "-1.505". */
function decimalOf(units: bigint, scale: number): string {
  const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${units < 0n ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
}

const scale = fc.integer({ min: 0, max: 18 });
/** Up to 15 integer digits at the given scale, either sign. */
const unitsAt = (s: number) => fc.bigInt({ min: -(10n ** BigInt(15 + s)) + 1n, max: 10n ** BigInt(15 + s) - 1n });
const decimal = scale.chain((s) => unitsAt(s).map((u) => decimalOf(u, s)));
const sign = (n: bigint) => (n < 0n ? -1 : n > 0n ? 1 : 0);

describe('exact decimals', () => {
  it('compares decimals of any precision exactly', () => {
    expect(compareDecimal('1000.005', '1000.01')).toBe(-1);
    expect(compareDecimal('1000.01', '1000.005')).toBe(1);
    expect(compareDecimal('-3', '2.5')).toBe(-1);
    expect(compareDecimal('1.50', '1.5')).toBe(0);
    expect(compareDecimal('-0', '0.000')).toBe(0);
    expect(compareDecimal('100', '99.999999999999999999')).toBe(1);
    // Floats cannot tell these apart; 0.1 + 0.2 is not 0.3 either.
    expect(compareDecimal('999999999999999.999', '999999999999999.998')).toBe(1);
    expect(compareDecimal('0.3', '0.30000000000000004')).toBe(-1);
  });

  it('refuses what is not a decimal, and more than 18 significant decimals', () => {
    for (const bad of ['', 'abc', '1e3', '1,5', '.5', '5.', '+1', 'NaN', 'Infinity', '1234567890123456']) {
      expect(() => compareDecimal(bad, '0')).toThrow(MoneyError);
      expect(isDecimal(bad)).toBe(false);
    }
    expect(() => compareDecimal('0.0000000000000000001', '0')).toThrow(/more than 18 decimals/);
    expect(compareDecimal('0.1000000000000000000000', '0.1')).toBe(0);
    expect(isDecimal('123456789012345.123456789012345678')).toBe(true);
  });

  it('is antisymmetric', () => {
    fc.assert(fc.property(decimal, decimal, (a, b) => compareDecimal(a, b) + compareDecimal(b, a) === 0));
  });

  it('agrees with bigint comparison of values at the same scale', () => {
    fc.assert(
      fc.property(
        scale.chain((s) => fc.tuple(fc.constant(s), unitsAt(s), unitsAt(s))),
        ([s, x, y]) => compareDecimal(decimalOf(x, s), decimalOf(y, s)) === sign(x - y),
      ),
    );
  });

  it('ignores trailing zeros', () => {
    fc.assert(
      fc.property(decimal, fc.integer({ min: 1, max: 10 }), (d, zeros) => {
        const padded = `${d}${d.includes('.') ? '' : '.'}${'0'.repeat(zeros)}`;
        return compareDecimal(d, padded) === 0 && compareDecimal(padded, d) === 0;
      }),
    );
  });

  it('says exactly when a total has reached a share of its cap', () => {
    expect(reachedShare('9000.00', '10000.00', 90n)).toBe(true);
    expect(reachedShare('8999.99', '10000.00', 90n)).toBe(false);
    // 0.9 * 1.10 is 0.9900000000000001 in floats, so a float check calls this total short of 90 %.
    expect(reachedShare('0.99', '1.10', 90n)).toBe(true);
    expect(reachedShare('100', '100.000', 100n)).toBe(true);
    fc.assert(
      fc.property(unitsAt(2), unitsAt(2), fc.bigInt({ min: 0n, max: 200n }), (total, cap, percent) => {
        return reachedShare(decimalOf(total, 2), decimalOf(cap, 2), percent) === total * 100n >= cap * percent;
      }),
    );
  });

  it('writes percentage ratios back exactly', () => {
    expect(formatPercentRatio(percentRatio('99.99'))).toBe('99.99');
    expect(formatPercentRatio(percentRatio('100'))).toBe('100');
    expect(formatPercentRatio(percentRatio('0.000001'))).toBe('0.000001');
    expect(formatPercentRatio(percentRatio('33.3333') * 3n)).toBe('99.9999');
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 999_999_999n }), (ratio) => percentRatio(formatPercentRatio(ratio)) === ratio));
  });
});
