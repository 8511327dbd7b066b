import { buildPurchaseJournal, journalTotals, UnbalancedJournalError, type PurchasePostingInput } from '../../domain/journal';

const base: PurchasePostingInput = {
  documentType: 'invoice',
  currency: 'EUR',
  gross: '125.00',
  payableAccount: '2400',
  vendorName: 'Acme',
  invoiceNumber: 'A-1',
  codingRows: [
    { account: '6100', amount: '60.00', dimensions: { costCentre: 'CC-1' } },
    { account: '6200', amount: '40.00', dimensions: {} },
    { account: '2640', amount: '25.00', dimensions: {} },
  ],
};

describe('purchase journal', () => {
  it('debits expense and tax rows and credits the payable with the gross', () => {
    const lines = buildPurchaseJournal(base);
    expect(lines.map((l) => [l.account, l.debit, l.credit])).toEqual([
      ['6100', '60.00', '0.00'],
      ['6200', '40.00', '0.00'],
      ['2640', '25.00', '0.00'],
      ['2400', '0.00', '125.00'],
    ]);
    expect(journalTotals(lines, 'EUR')).toEqual({ debit: '125.00', credit: '125.00' });
  });

  it('mirrors a credit note', () => {
    const lines = buildPurchaseJournal({ ...base, documentType: 'credit_note' });
    expect(lines.map((l) => [l.account, l.debit, l.credit])).toEqual([
      ['6100', '0.00', '60.00'],
      ['6200', '0.00', '40.00'],
      ['2640', '0.00', '25.00'],
      ['2400', '125.00', '0.00'],
    ]);
  });

  it('puts a negative row (a discount) on the other side and still balances', () => {
    const lines = buildPurchaseJournal({
      ...base,
      gross: '95.00',
      codingRows: [
        { account: '6100', amount: '100.00', dimensions: {} },
        { account: '6900', amount: '-5.00', dimensions: {} },
      ],
    });
    expect(lines.map((l) => [l.account, l.debit, l.credit])).toEqual([
      ['6100', '100.00', '0.00'],
      ['6900', '0.00', '5.00'],
      ['2400', '0.00', '95.00'],
    ]);
  });

  it('refuses coding that does not add up to the gross, by a cent', () => {
    expect(() => buildPurchaseJournal({ ...base, gross: '125.01' })).toThrow(UnbalancedJournalError);
  });
});
