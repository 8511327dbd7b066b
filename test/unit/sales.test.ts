import fc from 'fast-check';
import { journalTotals } from '../../domain/journal';
import { minorUnits, money } from '../../domain/money';
import { buildSalesJournal, invoiceTotals, lineAmounts, PaymentMismatchError, salesBlockers, type BlockerFacts } from '../../domain/sales';

const decimal = (maxWhole: number, digits: number) =>
  fc
    .tuple(fc.integer({ min: 0, max: maxWhole }), fc.integer({ min: 0, max: 10 ** digits - 1 }))
    .map(([w, f]) => (digits === 0 ? String(w) : `${w}.${String(f).padStart(digits, '0')}`));
const line = fc.record({
  quantity: decimal(500, 3).filter((q) => !/^0\.?0*$/.test(q)),
  unitPrice: decimal(10_000, 4),
  taxRate: fc.constantFrom('0', '6', '12', '12.5', '25'),
  revenueAccount: fc.constantFrom('3000', '3010', '3050'),
});

describe('sales invoice totals and journals', () => {
  test('a line rounds once, half away from zero, to the currency', () => {
    expect(lineAmounts({ quantity: '3', unitPrice: '4.99', taxRate: '25' }, 'EUR')).toEqual({ net: '14.97', tax: '3.74' });
    expect(lineAmounts({ quantity: '1', unitPrice: '0.125', taxRate: '0' }, 'EUR')).toEqual({ net: '0.13', tax: '0.00' });
    expect(lineAmounts({ quantity: '2', unitPrice: '150.5', taxRate: '10' }, 'JPY')).toEqual({ net: '301', tax: '30' });
  });

  test('property: gross is net plus tax exactly, and the lines add up to the totals', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), fc.constantFrom('EUR', 'JPY', 'BHD'), (lines, currency) => {
        const t = invoiceTotals(lines, currency);
        const m = (v: string) => minorUnits(money(v, currency));
        expect(m(t.gross)).toBe(m(t.net) + m(t.tax));
        expect(t.lines.reduce((n, l) => n + m(l.net), 0n)).toBe(m(t.net));
        expect(t.lines.reduce((n, l) => n + m(l.tax), 0n)).toBe(m(t.tax));
      }),
    );
  });

  test('property: every sales journal balances, with or without its payment, and carries the gross on the receivable', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), fc.boolean(), (lines, paid) => {
        const t = invoiceTotals(lines, 'EUR');
        const journal = buildSalesJournal(
          {
            currency: 'EUR',
            ...t,
            invoiceNumber: 'S-1',
            customerName: 'C',
            receivableAccount: '1500',
            taxAccount: '2610',
            lines: lines.map((l, i) => ({ ...l, ...t.lines[i]! })),
          },
          paid ? { account: '1910', amount: t.gross, method: 'cash', date: '2026-11-02' } : undefined,
        );
        const totals = journalTotals(journal, 'EUR');
        expect(totals.debit).toBe(totals.credit);
        const receivable = journal.filter((l) => l.account === '1500');
        const net = receivable.reduce((n, l) => n + minorUnits(money(l.debit, 'EUR')) - minorUnits(money(l.credit, 'EUR')), 0n);
        expect(net).toBe(paid ? 0n : minorUnits(money(t.gross, 'EUR')));
        for (const l of journal) expect(l.debit === '0.00' || l.credit === '0.00').toBe(true);
      }),
    );
  });

  test('a payment that is not the gross is refused', () => {
    const t = invoiceTotals([{ quantity: '1', unitPrice: '10', taxRate: '25' }], 'EUR');
    const input = {
      currency: 'EUR',
      ...t,
      invoiceNumber: 'S',
      customerName: 'C',
      receivableAccount: '1500',
      taxAccount: '2610',
      lines: [{ revenueAccount: '3000', taxRate: '25', ...t.lines[0]! }],
    };
    expect(() => buildSalesJournal(input, { account: '1910', amount: '12.49', method: 'cash', date: '2026-11-02' })).toThrow(
      PaymentMismatchError,
    );
  });
});

describe('blockers', () => {
  const facts = (over: Partial<BlockerFacts> = {}): BlockerFacts => ({
    state: 'unposted',
    heldByPosting: false,
    paymentTerms: 'net_30',
    customerName: 'Shop',
    requireCustomerItemReview: true,
    lines: [
      { lineNo: 1, description: 'Router', quantity: '2', requiresSerialNumbers: true, serialNumbers: 2, customerItem: { reviewed: true } },
    ],
    ...over,
  });

  test('an invoice with everything in order has none', () => {
    expect(salesBlockers(facts())).toEqual([]);
  });

  test('every blocker at once, in words a clerk understands', () => {
    const codes = salesBlockers(
      facts({
        paymentTerms: 'cash_sales_only',
        lines: [
          {
            lineNo: 1,
            description: 'Router',
            quantity: '3',
            requiresSerialNumbers: true,
            serialNumbers: 1,
            customerItem: { reviewed: false },
          },
        ],
      }),
    ).map((b) => b.code);
    expect(codes).toEqual(['cash_sales_only', 'customer_item_not_reviewed', 'serial_number_missing']);
  });

  test('an unreviewed customer item blocks only while the setting is on', () => {
    const lines = [
      {
        lineNo: 1,
        description: 'Support',
        quantity: '1',
        requiresSerialNumbers: false,
        serialNumbers: 0,
        customerItem: { reviewed: false },
      },
    ];
    expect(salesBlockers(facts({ lines, requireCustomerItemReview: false }))).toEqual([]);
    expect(salesBlockers(facts({ lines })).map((b) => b.code)).toEqual(['customer_item_not_reviewed']);
  });
});
