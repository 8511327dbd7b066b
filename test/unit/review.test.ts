import fc from 'fast-check';
import { passes, patternProblem, FIELD_TESTS } from '../../domain/conditions';
import {
  obligationProblem,
  REVIEW_FIELDS,
  reviewInvoice,
  ruleProblems,
  type ReviewedInvoice,
  type ReviewedRow,
  type ReviewRuleVersion,
} from '../../domain/review';

const invoice: ReviewedInvoice = {
  vendorId: 'v1',
  vendorName: 'Paper & Pens Ltd',
  documentType: 'invoice',
  invoiceNumber: 'INV-1',
  invoiceDate: '2026-11-01',
  dueDate: '2026-12-01',
  currency: 'EUR',
  net: '1000.00',
  tax: '250.00',
  gross: '1250.00',
  buyerReference: null,
  orderReference: '6001234',
  contractReference: null,
};

const rows: ReviewedRow[] = [
  { id: 'r1', kind: 'expense', account: '6100', dimensions: { costCentre: 'CC-100' } },
  { id: 'r2', kind: 'expense', account: '6200', dimensions: { costCentre: 'CC-200', project: 'P-7' } },
  { id: 'r3', kind: 'tax', account: '2640', dimensions: {} },
];

const rule = (conditions: ReviewRuleVersion['conditions'], more: Partial<ReviewRuleVersion> = {}): ReviewRuleVersion => ({
  id: 'rule-1',
  version: 3,
  name: 'Projects on 6000s',
  message: 'Accounts 6000-6999 need a project',
  applicability: {},
  conditions,
  ...more,
});

describe('field tests', () => {
  it.each([
    ['present', 'x', undefined, true],
    ['present', '  ', undefined, false],
    ['absent', null, undefined, true],
    ['equals', ' Abc ', 'abc', true],
    ['startsWith', '6001234', '6', true],
    ['startsWith', '7001234', '6', false],
    ['matches', '6001234', '^6\\d{6}$', true],
    ['greaterThan', '10000.01', '10000', true],
    ['greaterThan', 'ten', '10000', false],
    ['lessThan', '99.999', '100', true],
  ] as const)('%s %j against %j is %s', (test, value, operand, expected) => {
    expect(passes(value, test, operand)).toBe(expected);
  });

  it('refuses a pattern built for catastrophic backtracking, an invalid one and a long one', () => {
    expect(patternProblem('(a+)+$')).toMatch(/exponential time/);
    expect(patternProblem('^(x|x)*y$')).toMatch(/catastrophic backtracking/);
    expect(patternProblem('(\\w+\\s?)*$')).toMatch(/catastrophic backtracking/);
    expect(patternProblem('([')).toMatch(/not a valid regular expression/);
    expect(patternProblem('a'.repeat(201))).toMatch(/longer than 200/);
    expect(patternProblem('^6\\d+$')).toBeUndefined();
    expect(ruleProblems(rule([{ kind: 'field', field: 'orderReference', test: 'matches', value: '(a+)+$' }]))).toEqual([
      { path: 'conditions.0.value', message: expect.stringMatching(/catastrophic backtracking/) },
    ]);
  });
});

describe('reviewing an invoice', () => {
  it('rows on accounts 6000-6999 must carry a project: the rows without one are marked, the others stay green', () => {
    const result = reviewInvoice(invoice, rows, [
      rule([{ kind: 'accountsNeedDimension', from: '6000', to: '6999', dimension: 'project' }]),
    ]);
    expect(result.status).toBe('incorrect');
    expect(result.rows).toEqual({ r1: [{ ruleId: 'rule-1', message: 'Accounts 6000-6999 need a project' }] });
    expect(result.ruleVersions).toEqual([{ id: 'rule-1', version: 3 }]);
    expect(result.failed).toEqual([{ ruleId: 'rule-1', name: 'Projects on 6000s', message: 'Accounts 6000-6999 need a project' }]);
  });

  it('a header field test marks the field', () => {
    const result = reviewInvoice(invoice, rows, [
      rule([{ kind: 'field', field: 'buyerReference', test: 'present' }], { message: 'Buyer reference missing' }),
    ]);
    expect(result.fields).toEqual({ buyerReference: [{ ruleId: 'rule-1', message: 'Buyer reference missing' }] });
  });

  it('vendor X must use cost centre Y: applies to that vendor only', () => {
    const vendorRule = rule([{ kind: 'costCentreIn', costCentres: ['CC-100'] }], { applicability: { vendorIds: ['v1'] } });
    expect(reviewInvoice(invoice, rows, [vendorRule]).rows).toEqual({ r2: [expect.objectContaining({ ruleId: 'rule-1' })] });
    expect(reviewInvoice({ ...invoice, vendorId: 'v2' }, rows, [vendorRule])).toMatchObject({ status: 'correct', ruleVersions: [] });
  });

  it('above an amount a contract reference is needed; applicability by amount range and document type', () => {
    const big = rule([{ kind: 'amountNeedsReference', above: '1000.00', reference: 'contractReference' }]);
    expect(reviewInvoice(invoice, rows, [big]).fields).toEqual({ contractReference: [expect.objectContaining({ ruleId: 'rule-1' })] });
    expect(reviewInvoice({ ...invoice, contractReference: 'C-9' }, rows, [big]).status).toBe('correct');
    const creditOnly = rule([{ kind: 'field', field: 'buyerReference', test: 'present' }], {
      applicability: { documentType: 'credit_note' },
    });
    expect(reviewInvoice(invoice, rows, [creditOnly]).status).toBe('correct');
    const small = rule([{ kind: 'field', field: 'buyerReference', test: 'present' }], {
      applicability: { amountFrom: '0', amountTo: '1000.00' },
    });
    expect(reviewInvoice(invoice, rows, [small]).status).toBe('correct');
  });
});

describe('obligations', () => {
  const facts = (invoicedBefore: string, more: { tolerancePercent?: string | null; toleranceAmount?: string | null } = {}) => ({
    orderNumber: '6001234',
    obligation: { id: 'o1', amount: '1000.00', currency: 'EUR', tolerancePercent: null, toleranceAmount: null, invoicedBefore, ...more },
  });
  const partial = { ...invoice, net: '320.00', tax: '80.00', gross: '400.00' };

  it('three partial invoices of 400.00 against 1,000.00: the third exceeds it', () => {
    expect(obligationProblem(partial, facts('0.00'))).toBeUndefined();
    expect(obligationProblem(partial, facts('400.00'))).toBeUndefined();
    expect(obligationProblem(partial, facts('800.00'))).toMatch(/would be exceeded: 1200.00 invoiced/);
  });

  it('the tolerance is the larger of the percentage and the absolute amount, exactly', () => {
    expect(obligationProblem({ ...partial, gross: '250.00' }, facts('800.00', { tolerancePercent: '5' }))).toBeUndefined();
    expect(obligationProblem({ ...partial, gross: '250.01' }, facts('800.00', { tolerancePercent: '5' }))).toMatch(/exceeded/);
    expect(
      obligationProblem({ ...partial, gross: '300.00' }, facts('800.00', { tolerancePercent: '5', toleranceAmount: '100.00' })),
    ).toBeUndefined();
  });

  it('an unknown order number or another currency is incorrect', () => {
    expect(obligationProblem(invoice, { orderNumber: '999' })).toMatch(/No obligation/);
    expect(obligationProblem({ ...invoice, currency: 'USD' }, facts('0'))).toMatch(/is in EUR/);
  });
});

describe('review never throws', () => {
  const text = fc.oneof(fc.string(), fc.constantFrom('', ' ', '0', '-1', '1e9', '999999999999999.99', 'NaN', '\u0000'));
  const anyInvoice = fc.record({
    vendorId: fc.constantFrom('v1', 'v2'),
    vendorName: text,
    documentType: fc.constantFrom('invoice' as const, 'credit_note' as const),
    invoiceNumber: text,
    invoiceDate: text,
    dueDate: text,
    currency: fc.constantFrom('EUR', 'JPY', 'BHD', 'XXX', ''),
    net: text,
    tax: text,
    gross: text,
    buyerReference: fc.option(text),
    orderReference: fc.option(text),
    contractReference: fc.option(text),
  });
  const anyRow = fc.record({
    id: fc.string(),
    kind: fc.constantFrom('expense' as const, 'tax' as const),
    account: text,
    dimensions: fc.dictionary(fc.constantFrom('costCentre', 'project'), text),
  });
  const anyCondition = fc.oneof(
    fc.record({
      kind: fc.constant('field' as const),
      field: fc.constantFrom(...REVIEW_FIELDS),
      test: fc.constantFrom(...FIELD_TESTS),
      value: fc.option(text, { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('accountsNeedDimension' as const), from: text, to: text, dimension: text }),
    fc.record({ kind: fc.constant('costCentreIn' as const), costCentres: fc.array(text) }),
    fc.record({
      kind: fc.constant('amountNeedsReference' as const),
      above: text,
      reference: fc.constantFrom('contractReference' as const, 'orderReference' as const),
    }),
  );
  const anyRule = fc.record({
    id: fc.string(),
    version: fc.nat(),
    name: fc.string(),
    message: fc.string(),
    applicability: fc.record({
      vendorIds: fc.option(fc.array(fc.constantFrom('v1', 'v2')), { nil: undefined }),
      amountFrom: fc.option(text, { nil: undefined }),
      amountTo: fc.option(text, { nil: undefined }),
    }),
    conditions: fc.array(anyCondition, { maxLength: 4 }),
  });

  it('on arbitrary invoices, rows, rules and obligations (seeded; seed printed on failure)', () => {
    fc.assert(
      fc.property(
        anyInvoice,
        fc.array(anyRow, { maxLength: 5 }),
        fc.array(anyRule, { maxLength: 4 }),
        fc.option(
          fc.record({
            orderNumber: text,
            obligation: fc.option(
              fc.record({
                id: fc.string(),
                amount: text,
                currency: fc.constantFrom('EUR', 'JPY', ''),
                tolerancePercent: fc.option(text),
                toleranceAmount: fc.option(text),
                invoicedBefore: text,
              }),
              { nil: undefined },
            ),
          }),
          { nil: undefined },
        ),
        (inv, rs, rules, obligation) => {
          const result = reviewInvoice(inv, rs, rules, obligation);
          expect(['correct', 'incorrect']).toContain(result.status);
          expect(result.status === 'incorrect').toBe(result.failed.length > 0);
        },
      ),
      { numRuns: Number(process.env.REVIEW_RUNS ?? 2000) },
    );
  });
});
