import { signableRows, withinLimit, type SignableRow } from '../../domain/approval';

const rows: SignableRow[] = [
  { id: 'r1', dimensions: { costCentre: 'CC-100' } },
  { id: 'r2', dimensions: { costCentre: 'CC-200' } },
  { id: 'tax', dimensions: {} },
];

describe('approval rights', () => {
  const carol = { id: 'carol', approvalLimits: [{ currency: '*', amount: '10000.00' }], costCentres: [] };

  it('allow an approver within the limit to sign every row', () => {
    expect(signableRows(carol, { currency: 'EUR', gross: '10000.00' }, rows)).toEqual(['r1', 'r2', 'tax']);
  });

  it('give nothing to an approver above the limit, by a cent', () => {
    expect(signableRows(carol, { currency: 'EUR', gross: '10000.01' }, rows)).toEqual([]);
  });

  it('prefer a currency limit over the every-currency one', () => {
    const sek = { ...carol, approvalLimits: [...carol.approvalLimits, { currency: 'SEK', amount: '50000' }] };
    expect(withinLimit(sek, { currency: 'SEK', gross: '40000.00' })).toBe(true);
    expect(withinLimit(sek, { currency: 'EUR', gross: '40000.00' })).toBe(false);
  });

  it('treat no limit as unlimited and no entry as no right', () => {
    expect(withinLimit({ ...carol, approvalLimits: [{ currency: '*', amount: null }] }, { currency: 'EUR', gross: '999999999.99' })).toBe(
      true,
    );
    expect(withinLimit({ ...carol, approvalLimits: [] }, { currency: 'EUR', gross: '1.00' })).toBe(false);
  });

  it('limit dimension rights to the user cost centres, rows without one need only the limit', () => {
    expect(signableRows({ ...carol, costCentres: ['CC-200'] }, { currency: 'EUR', gross: '10.00' }, rows)).toEqual(['r2', 'tax']);
  });
});
