/**
 * Tests on one field of a document: present, absent, equals, starts with, matches a pattern,
 * greater or less than. Shared by the automatic review rules and the workflow start rules; pure,
 * total (never throws on any value), and safe: patterns are refused when they are long or could
 * backtrack catastrophically (checked once per pattern), and the values tested are short.
 */
import { checkSync } from 'recheck';
import { compareDecimal, isDecimal } from './money';

export const FIELD_TESTS = ['present', 'absent', 'equals', 'startsWith', 'matches', 'greaterThan', 'lessThan'] as const;
export type FieldTest = (typeof FIELD_TESTS)[number];

/** The longest pattern a rule may carry. */
export const MAX_PATTERN_LENGTH = 200;
/** Values longer than this are tested on their first characters only (fields are shorter anyway). */
const MAX_VALUE_LENGTH = 1000;

/** Why a pattern may not be used, or undefined when it may. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'the pattern is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `the pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, 'u');
  } catch (err) {
    return `the pattern is not a valid regular expression: ${(err as Error).message}`;
  }
  // recheck analyses the pattern for catastrophic backtracking (ReDoS); what it cannot prove safe in time is refused too.
  const verdict = checkSync(pattern, 'u', { timeout: 2000 });
  if (verdict.status === 'vulnerable') {
    return `the pattern could take ${verdict.complexity.type} time on some texts (catastrophic backtracking); simplify its repetitions`;
  }
  if (verdict.status !== 'safe') return 'the pattern could not be shown to be safe from catastrophic backtracking; simplify it';
  return undefined;
}

/** Why a test with this operand cannot be evaluated, or undefined when it can. */
export function testProblem(test: FieldTest, operand: string | undefined): string | undefined {
  if (test === 'present' || test === 'absent') return undefined;
  if (operand === undefined || operand.length === 0) return `the ${test} test needs a value`;
  if (test === 'matches') return patternProblem(operand);
  if ((test === 'greaterThan' || test === 'lessThan') && !isDecimal(operand)) return `the ${test} test needs a number such as "10000.00"`;
  return undefined;
}

const patterns = new Map<string, RegExp | null>();

function compiled(pattern: string): RegExp | null {
  let re = patterns.get(pattern);
  if (re === undefined) {
    re = patternProblem(pattern) ? null : new RegExp(pattern, 'u');
    if (patterns.size > 1000) patterns.clear();
    patterns.set(pattern, re);
  }
  return re;
}

/**
 * Whether `value` passes the test. Text tests compare case-insensitively after trimming; number
 * tests compare exactly as decimals (a value that is not a number fails them). An unusable
 * operand fails the test rather than throwing.
 */
export function passes(value: string | null | undefined, test: FieldTest, operand?: string): boolean {
  const v = typeof value === 'string' ? value.trim().slice(0, MAX_VALUE_LENGTH) : '';
  const there = v.length > 0;
  switch (test) {
    case 'present':
      return there;
    case 'absent':
      return !there;
    case 'equals':
      return there && operand !== undefined && v.toLowerCase() === operand.trim().toLowerCase();
    case 'startsWith':
      return there && operand !== undefined && v.toLowerCase().startsWith(operand.trim().toLowerCase());
    case 'matches': {
      const re = operand === undefined ? null : compiled(operand);
      return there && re !== null && re.test(v);
    }
    case 'greaterThan':
    case 'lessThan': {
      if (!there || operand === undefined || !isDecimal(v) || !isDecimal(operand)) return false;
      const c = compareDecimal(v, operand);
      return test === 'greaterThan' ? c > 0 : c < 0;
    }
  }
}

/** The test in words, for messages: "order reference starts with 6". */
export function describeTest(field: string, test: FieldTest, operand?: string): string {
  const words: Record<FieldTest, string> = {
    present: 'is present',
    absent: 'is absent',
    equals: `equals "${operand ?? ''}"`,
    startsWith: `starts with "${operand ?? ''}"`,
    matches: `matches /${operand ?? ''}/`,
    greaterThan: `is greater than ${operand ?? ''}`,
    lessThan: `is less than ${operand ?? ''}`,
  };
  return `${field} ${words[test]}`;
}
