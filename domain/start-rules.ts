/**
 * Start rules (SPEC 2.4): checked in order when an invoice's workflow starts, on the fields of the
 * incoming document. The first rule whose conditions all hold applies its outcome: give the first
 * task to a user, group or role; write to the supplier or a department (and wait for the answer);
 * or reject. Pure and total.
 */
import { describeTest, FIELD_TESTS, passes, testProblem, type FieldTest } from './conditions';
import { durationMs } from './flow';

/** Fields of the incoming document a start rule can test (UBL's parsed fields included). */
export const DOCUMENT_FIELDS = [
  'invoiceNumber',
  'documentType',
  'currency',
  'net',
  'tax',
  'gross',
  'invoiceDate',
  'dueDate',
  'buyerReference',
  'orderReference',
  'contractReference',
  'vendorName',
  'vendorVatNumber',
  'supplierEndpoint',
  'supplierEmail',
  /** Passes when any line's description passes. */
  'lineDescription',
  'sourceFormat',
] as const;
export type DocumentField = (typeof DOCUMENT_FIELDS)[number];

export { FIELD_TESTS };

export interface StartCondition {
  field: DocumentField;
  test: FieldTest;
  value?: string;
}

export type StartOutcome =
  | { kind: 'assign'; to: { users?: string[]; groups?: string[]; roles?: string[] } }
  | {
      kind: 'mail';
      to: 'supplier' | 'department';
      /** The department's address (to: department). */
      address?: string;
      subject: string;
      /** Text with placeholders such as {{invoiceNumber}}, {{vendorName}}, {{gross}} {{currency}}. */
      body: string;
      /** Wait this long for the answer ("3d", "4h"), then remind the supplier, then hand it to the clerks. */
      awaitReply?: string;
    }
  | { kind: 'reject'; reason: string };

export interface StartRule {
  id: string;
  version: number;
  name: string;
  conditions: StartCondition[];
  outcome: StartOutcome;
}

/** The incoming document as start rules see it. */
export type IncomingDocument = Partial<Record<Exclude<DocumentField, 'lineDescription'>, string | null>> & { lineDescriptions: string[] };

export interface StartEvaluation {
  /** The rule that applies, if any. */
  match?: StartRule;
  /** Every rule looked at, in order, for the audit trail. */
  evaluated: { ruleId: string; version: number; name: string; matched: boolean; because: string }[];
}

function holds(doc: IncomingDocument, c: StartCondition): boolean {
  if (c.field === 'lineDescription') {
    // absent: no line carries one; any other test: some line passes it.
    if (c.test === 'absent') return doc.lineDescriptions.every((d) => passes(d, 'absent'));
    return doc.lineDescriptions.some((d) => passes(d, c.test, c.value));
  }
  return passes(doc[c.field], c.test, c.value);
}

/** Evaluates the rules in order (they come sorted by position): the first whose conditions all hold applies. */
export function evaluateStartRules(doc: IncomingDocument, rules: readonly StartRule[]): StartEvaluation {
  const evaluated: StartEvaluation['evaluated'] = [];
  for (const rule of rules) {
    const failing = rule.conditions.find((c) => !holds(doc, c));
    const because = failing
      ? `not: ${describeTest(failing.field, failing.test, failing.value)}`
      : rule.conditions.map((c) => describeTest(c.field, c.test, c.value)).join(' and ');
    evaluated.push({ ruleId: rule.id, version: rule.version, name: rule.name, matched: !failing, because });
    if (!failing) return { match: rule, evaluated };
  }
  return { evaluated };
}

/** Why a start rule cannot be saved, as `{path, message}` details (empty when it can). */
export function startRuleProblems(rule: Pick<StartRule, 'conditions' | 'outcome'>): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (rule.conditions.length === 0) problems.push({ path: 'conditions', message: 'a rule needs at least one condition' });
  rule.conditions.forEach((c, i) => {
    const problem = testProblem(c.test, c.value);
    if (problem) problems.push({ path: `conditions.${i}.value`, message: problem });
  });
  const o = rule.outcome;
  if (o.kind === 'assign' && (o.to.users?.length ?? 0) + (o.to.groups?.length ?? 0) + (o.to.roles?.length ?? 0) === 0) {
    problems.push({ path: 'outcome.to', message: 'name at least one user, group or role' });
  }
  if (o.kind === 'mail') {
    if (o.to === 'department' && !o.address) problems.push({ path: 'outcome.address', message: "a department's address is needed" });
    if (o.awaitReply !== undefined && durationMs(o.awaitReply) === undefined) {
      problems.push({ path: 'outcome.awaitReply', message: 'a duration such as "3d" or "4h"' });
    }
  }
  return problems;
}

/** Fills `{{name}}` placeholders from the values; unknown names stay empty. No markup, no code: text only. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | null | undefined>>): string {
  return template.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (_m, name: string) => (Object.hasOwn(values, name) ? (values[name] ?? '') : ''));
}
