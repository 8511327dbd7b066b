import fc from 'fast-check';
import { matchAgreement, nearCap, referenceMatches, type AgreementDefinition } from '../../domain/agreements';

const base: AgreementDefinition = {
  id: 'a1',
  vendorId: 'v1',
  referencePattern: null,
  invoiceNumber: null,
  amountFrom: '100.00',
  amountTo: '200.00',
  days: 25,
  cumulativeCap: null,
  cumulativeTotal: '0',
};
const invoice = {
  vendorId: 'v1',
  invoiceNumber: 'R-1',
  invoiceDate: '2026-11-01',
  currency: 'EUR',
  gross: '150.00',
  buyerReference: 'CONTRACT-7.A',
  contractReference: null,
};

describe('agreement matching', () => {
  it('treats % and * as wildcards and everything else literally', () => {
    expect(referenceMatches('CONTRACT-%', 'CONTRACT-7.A')).toBe(true);
    expect(referenceMatches('contract-*.a', 'CONTRACT-7.A')).toBe(true);
    expect(referenceMatches('CONTRACT-7.A', 'CONTRACT-7xA')).toBe(false);
    expect(referenceMatches('[A]%', '[A]1')).toBe(true);
    expect(referenceMatches('[A]%', 'A1')).toBe(false);
    expect(referenceMatches('A%', 'BA1')).toBe(false);
  });

  it('matches each criterion and names the one that failed', () => {
    expect(matchAgreement([base], invoice, {}).match?.id).toBe('a1');
    const miss = (d: Partial<AgreementDefinition>, dates: string[] = []) =>
      matchAgreement([{ ...base, ...d }], invoice, { a1: dates }).nearMisses[0]?.criterion;
    expect(miss({ referencePattern: 'OTHER%' })).toBe('reference');
    expect(miss({ invoiceNumber: 'R-2' })).toBe('invoice_number');
    expect(miss({ amountFrom: '150.01' })).toBe('amount');
    expect(miss({ amountTo: '149.99' })).toBe('amount');
    expect(miss({}, ['2026-10-10'])).toBe('days');
    expect(miss({}, ['2026-11-20'])).toBe('days'); // whatever order they arrive in
    expect(miss({}, ['2026-10-07'])).toBeUndefined();
    expect(miss({ cumulativeCap: '1000.00', cumulativeTotal: '1000.01' })).toBe('cap');
    expect(miss({ cumulativeCap: '1000.00', cumulativeTotal: '1000.00' })).toBeUndefined();
    expect(matchAgreement([{ ...base, vendorId: 'v2' }], invoice, {}).nearMisses).toEqual([]);
  });

  it('picks the most specific complete match, whatever the order of definitions', () => {
    const wildcard = { ...base, id: 'a2', referencePattern: 'CONTRACT-%' };
    const literal = { ...base, id: 'a3', referencePattern: 'CONTRACT-7.A' };
    const numbered = { ...base, id: 'a4', invoiceNumber: 'R-1' };
    expect(matchAgreement([base, wildcard, literal, numbered], invoice, {}).match?.id).toBe('a4');
    expect(matchAgreement([numbered, literal, wildcard, base].reverse(), invoice, {}).match?.id).toBe('a4');
    expect(matchAgreement([wildcard, base, literal], invoice, {}).match?.id).toBe('a3');
    const narrow = { ...base, id: 'a0', amountFrom: '140.00', amountTo: '160.00' };
    expect(matchAgreement([base, narrow], invoice, {}).match?.id).toBe('a0');
  });
});

describe('agreement amounts, exactly', () => {
  const jpy = { ...invoice, currency: 'JPY', gross: '101' };

  it('matches a JPY invoice against an agreement with cents instead of throwing', () => {
    const withCents = { ...base, amountFrom: '100.50', amountTo: '200' };
    expect(matchAgreement([withCents], jpy, {}).match?.id).toBe('a1');
    expect(matchAgreement([withCents], { ...jpy, gross: '100' }, {}).nearMisses[0]?.criterion).toBe('amount');
    const capped = { ...withCents, cumulativeCap: '1000.50', cumulativeTotal: '1000.25' };
    expect(matchAgreement([capped], jpy, {}).match?.id).toBe('a1');
    expect(matchAgreement([{ ...capped, cumulativeTotal: '1000.51' }], jpy, {}).nearMisses[0]?.criterion).toBe('cap');
  });

  it('never throws on agreement amounts with up to 3 decimals, whatever the invoice currency', () => {
    const unitsAt = (digits: number) => fc.bigInt({ min: 0n, max: 10n ** BigInt(9 + digits) });
    const written = (units: bigint, digits: number) => {
      const s = units.toString().padStart(digits + 1, '0');
      return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
    };
    // The gross in its currency's digits, and in thousandths for the oracle.
    const gross = fc
      .constantFrom(['JPY', 0] as const, ['EUR', 2] as const, ['BHD', 3] as const)
      .chain(([currency, digits]) =>
        unitsAt(digits).map((units) => ({ currency, gross: written(units, digits), thousandths: units * 10n ** BigInt(3 - digits) })),
      );
    fc.assert(
      fc.property(gross, unitsAt(3), unitsAt(3), (g, from, to) => {
        const definition = { ...base, amountFrom: written(from, 3), amountTo: written(to, 3) };
        const outcome = matchAgreement([definition], { ...invoice, currency: g.currency, gross: g.gross }, {});
        return (outcome.match !== undefined) === (from <= g.thousandths && g.thousandths <= to);
      }),
    );
  });

  it('gives a tie in specificity to the narrower range, exactly even at 15 digits', () => {
    // As floats both widths are 1e15; exactly, a1 is narrower by a thousandth.
    const wide = { ...base, id: 'a0', amountFrom: '0', amountTo: '999999999999999.999' };
    const narrower = { ...base, id: 'a1', amountFrom: '0.001', amountTo: '999999999999999.999' };
    expect(matchAgreement([wide, narrower], invoice, {}).match?.id).toBe('a1');
    expect(matchAgreement([narrower, wide], invoice, {}).match?.id).toBe('a1');
  });

  it('breaks an exact tie in width by the lowest id, where floats see different widths', () => {
    // 200.3 - 100.1 is 100.20000000000002 and 200.4 - 100.2 is 100.2 in floats; both are 100.2.
    const later = { ...base, id: 'a2', amountFrom: '100.20', amountTo: '200.40' };
    const earlier = { ...base, id: 'a1', amountFrom: '100.10', amountTo: '200.30' };
    expect(matchAgreement([later, earlier], invoice, {}).match?.id).toBe('a1');
    expect(matchAgreement([earlier, later], invoice, {}).match?.id).toBe('a1');
  });
});

describe('near the cap', () => {
  it('is near from exactly 90 % of the cap', () => {
    expect(nearCap('9000.00', '10000.00')).toBe(true);
    expect(nearCap('8999.99', '10000.00')).toBe(false);
    expect(nearCap('9000', '10000.000')).toBe(true);
    expect(nearCap('10500.00', '10000.00')).toBe(true);
    // 0.9 * 1.10 is 0.9900000000000001 as a float.
    expect(nearCap('0.99', '1.10')).toBe(true);
  });

  it('is never near without a positive cap', () => {
    expect(nearCap('9000.00', null)).toBe(false);
    expect(nearCap('0', '0')).toBe(false);
    expect(nearCap('5', '-10.00')).toBe(false);
  });

  it('turns at 90 % to the cent for any cap', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 13n }), (k) => {
        const cents = (n: bigint) => `${n / 100n}.${(n % 100n).toString().padStart(2, '0')}`;
        const cap = cents(10n * k);
        return nearCap(cents(9n * k), cap) && !nearCap(cents(9n * k - 1n), cap);
      }),
    );
  });
});
