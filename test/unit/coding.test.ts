import { applyCodingTemplate, codingTemplateProblems } from '../../domain/coding';
import { money, sum, format } from '../../domain/money';

const template = {
  rows: [
    { account: '6100', percent: '33.3333', dimensions: { costCentre: 'A' } },
    { account: '6200', percent: '33.3333', dimensions: { costCentre: 'B' } },
    { account: '6300', percent: '33.3334', dimensions: { costCentre: 'C' } },
  ],
  taxAccount: '2640',
  taxCode: 'VAT',
};

describe('coding templates', () => {
  it('split the net exactly to the cent and add one tax row', () => {
    const rows = applyCodingTemplate(template, { net: '100.00', tax: '25.00', currency: 'EUR' });
    expect(rows.map((r) => [r.kind, r.account, r.amount])).toEqual([
      ['expense', '6100', '33.33'],
      ['expense', '6200', '33.33'],
      ['expense', '6300', '33.34'],
      ['tax', '2640', '25.00'],
    ]);
  });

  it.each(['0.01', '0.02', '99.99', '1000000.01', '7.77'])('never lose or invent a cent splitting %s', (net) => {
    const rows = applyCodingTemplate(template, { net, tax: '0.00', currency: 'EUR' });
    expect(rows.every((r) => r.kind === 'expense')).toBe(true);
    expect(
      format(
        sum(
          rows.map((r) => money(r.amount, 'EUR')),
          'EUR',
        ),
      ),
    ).toBe(format(money(net, 'EUR')));
  });

  it('split yen without inventing decimals', () => {
    const rows = applyCodingTemplate(template, { net: '1000', tax: '100', currency: 'JPY' });
    expect(rows.map((r) => r.amount)).toEqual(['333', '333', '334', '100']);
  });

  it('refuse templates whose percentages do not add up to 100', () => {
    expect(codingTemplateProblems({ ...template, rows: [{ account: '6100', percent: '99.99' }] })).toEqual([
      'row percentages add up to 99.99%, not 100%',
    ]);
    expect(() => applyCodingTemplate({ rows: [], taxAccount: '2640' }, { net: '1', tax: '0', currency: 'EUR' })).toThrow(
      /at least one row/,
    );
  });
});
