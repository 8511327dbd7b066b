import { format, minorDigits, money, MoneyError, percentRatio, split, sum } from '../../domain/money';

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
