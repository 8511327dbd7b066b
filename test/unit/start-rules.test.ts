/**
 * Start rules, the pure part: each condition kind on the incoming document, the first matching
 * rule in order wins, every rule looked at is reported for the audit trail, and templates fill
 * in the invoice's data.
 */
import fc from 'fast-check';
import { FIELD_TESTS } from '../../domain/conditions';
import {
  DOCUMENT_FIELDS,
  evaluateStartRules,
  renderTemplate,
  startRuleProblems,
  type IncomingDocument,
  type StartCondition,
  type StartRule,
} from '../../domain/start-rules';

const doc: IncomingDocument = {
  invoiceNumber: 'INV-1',
  currency: 'EUR',
  gross: '1250.00',
  orderReference: '6001234',
  buyerReference: null,
  vendorName: 'Paper & Pens Ltd',
  lineDescriptions: ['Paper, A4', 'Pens, blue'],
};

let n = 0;
const rule = (conditions: StartCondition[], outcome: StartRule['outcome'] = { kind: 'reject', reason: 'no' }): StartRule => ({
  id: `r${++n}`,
  version: 1,
  name: `rule ${n}`,
  conditions,
  outcome,
});

describe('start rule conditions', () => {
  it.each<[StartCondition, boolean]>([
    [{ field: 'orderReference', test: 'present' }, true],
    [{ field: 'buyerReference', test: 'present' }, false],
    [{ field: 'buyerReference', test: 'absent' }, true],
    [{ field: 'contractReference', test: 'absent' }, true],
    [{ field: 'currency', test: 'equals', value: 'eur' }, true],
    [{ field: 'orderReference', test: 'startsWith', value: '6' }, true],
    [{ field: 'orderReference', test: 'startsWith', value: '7' }, false],
    [{ field: 'orderReference', test: 'matches', value: '^6\\d{6}$' }, true],
    [{ field: 'gross', test: 'greaterThan', value: '1000' }, true],
    [{ field: 'gross', test: 'lessThan', value: '1250.00' }, false],
    [{ field: 'lineDescription', test: 'startsWith', value: 'pens' }, true],
    [{ field: 'lineDescription', test: 'absent' }, false],
  ])('%j holds: %s', (condition, expected) => {
    expect(evaluateStartRules(doc, [rule([condition])]).match !== undefined).toBe(expected);
  });

  it('the seed’s example: is there an order number, and does it start with a 6? The first rule that holds applies', () => {
    const noOrder = rule([{ field: 'orderReference', test: 'absent' }], {
      kind: 'mail',
      to: 'supplier',
      subject: 'Order number for {{invoiceNumber}}?',
      body: 'b',
    });
    const sixes = rule([
      { field: 'orderReference', test: 'present' },
      { field: 'orderReference', test: 'startsWith', value: '6' },
    ]);
    const any = rule([{ field: 'invoiceNumber', test: 'present' }]);
    const result = evaluateStartRules(doc, [noOrder, sixes, any]);
    expect(result.match?.id).toBe(sixes.id);
    expect(result.evaluated).toEqual([
      { ruleId: noOrder.id, version: 1, name: noOrder.name, matched: false, because: expect.stringMatching(/^not: /) },
      { ruleId: sixes.id, version: 1, name: sixes.name, matched: true, because: expect.stringContaining('starts with "6"') },
    ]);
    expect(evaluateStartRules({ ...doc, orderReference: null }, [noOrder, sixes, any]).match?.id).toBe(noOrder.id);
  });

  it('refuses rules that cannot be evaluated safely, and fills templates with text only', () => {
    expect(
      startRuleProblems({
        conditions: [{ field: 'invoiceNumber', test: 'matches', value: '^(a+)+$' }],
        outcome: { kind: 'reject', reason: 'x' },
      }),
    ).toEqual([{ path: 'conditions.0.value', message: expect.any(String) }]);
    expect(
      startRuleProblems({ conditions: [{ field: 'gross', test: 'greaterThan', value: 'ten' }], outcome: { kind: 'assign', to: {} } }),
    ).toHaveLength(2);
    expect(
      renderTemplate('Invoice {{invoiceNumber}} of {{ vendorName }}: {{gross}} {{unknown}}.', {
        invoiceNumber: 'A1',
        vendorName: 'P',
        gross: '1.00',
      }),
    ).toBe('Invoice A1 of P: 1.00 .');
  });

  it('property: the match is the first rule whose conditions all hold; every rule before it is reported as not matching', () => {
    const value = fc.oneof(fc.constantFrom('6001234', '7', '1250.00', '', 'EUR'), fc.string({ maxLength: 8 }));
    const condition = fc.record({
      field: fc.constantFrom(...DOCUMENT_FIELDS),
      test: fc.constantFrom(...FIELD_TESTS.filter((t) => t !== 'matches')),
      value,
    });
    const anyDoc = fc.record({
      orderReference: fc.option(value),
      gross: fc.option(value),
      currency: fc.option(value),
      lineDescriptions: fc.array(value, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(anyDoc, fc.array(fc.array(condition, { minLength: 1, maxLength: 3 }), { maxLength: 5 }), (d, conditionSets) => {
        const rules = conditionSets.map((cs) => rule(cs));
        const result = evaluateStartRules(d, rules);
        const single = (c: StartCondition) => evaluateStartRules(d, [rule([c])]).match !== undefined;
        const first = rules.findIndex((r) => r.conditions.every(single));
        expect(result.match?.id).toBe(first === -1 ? undefined : rules[first]!.id);
        expect(result.evaluated.map((e) => e.matched)).toEqual(
          first === -1 ? rules.map(() => false) : [...rules.slice(0, first).map(() => false), true],
        );
      }),
      { numRuns: 1000 },
    );
  });
});
