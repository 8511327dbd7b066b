/**
 * Exceptions review parks the invoice with the clerks with one message; resolving it returns the
 * invoice to the stage it came from, with a fresh task resolved from current data.
 */
import type { Action, Rule } from './actions';
import { checkTaskActor, openTaskOf } from './actions';
import { closeTask, openClerkTask, reopen } from './route';
import { record, refusal, suffix, type Stage } from './state';

type ExceptionsReview = Extract<Action, { kind: 'exceptionsReview' }>;
type ResolveException = Extract<Action, { kind: 'resolveException' }>;

export const exceptionsReview: Rule<ExceptionsReview> = {
  check(s, a) {
    const problem = checkTaskActor(s, a);
    if (problem) return problem;
    if (s.stage === 'exceptions_review' || s.stage === 'rejected') {
      return refusal('wrong_stage', `An invoice in ${s.stage} cannot be sent to exceptions review`);
    }
    return undefined;
  },
  apply(s, a, clock) {
    const from = s.stage;
    closeTask(openTaskOf(s), clock, a.payload.by, 'exceptionsReview');
    s.returnTo = { stage: from, step: s.step };
    s.stage = 'exceptions_review';
    record(s, clock, a.payload.by, 'exceptionsReview', 'done', `Sent to exceptions review from ${from}: ${a.payload.message}`);
    openClerkTask(s, clock, 'exceptions_review', a.payload.message);
    return 'Sent to exceptions review';
  },
};

export const resolveException: Rule<ResolveException> = {
  check(s, a) {
    const problem = checkTaskActor(s, a);
    if (problem) return problem;
    if (s.stage !== 'exceptions_review') return refusal('wrong_stage', 'The invoice is not in exceptions review');
    return undefined;
  },
  apply(s, a, clock) {
    closeTask(openTaskOf(s), clock, a.payload.by, 'resolveException');
    const back = s.returnTo ?? { stage: 'new' as Stage, step: -1 };
    delete s.returnTo;
    record(s, clock, a.payload.by, 'resolveException', 'done', `Exception resolved; back to ${back.stage}${suffix(a.payload.comment)}`);
    reopen(s, clock, back.stage, back.step);
    return `Back to ${s.stage}`;
  },
};
