import { matchAgreement, referenceMatches, type AgreementDefinition } from '../../domain/agreements';

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
