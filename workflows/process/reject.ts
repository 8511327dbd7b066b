/**
 * Reject: the invoice goes to `rejected`, back to the clerks, who correct and resubmit it, or
 * reject it once more: then it is cancelled for good and never paid.
 */
import type { Action, Rule } from './actions';
import { checkTaskActor, openTaskOf } from './actions';
import { closeTask, openClerkTask } from './route';
import { record, refusal } from './state';

type Reject = Extract<Action, { kind: 'reject' }>;

export const reject: Rule<Reject> = {
  check(s, a) {
    const problem = checkTaskActor(s, a);
    if (problem) return problem;
    if (s.stage === 'exceptions_review') {
      return refusal('wrong_stage', 'An invoice in exceptions review cannot be rejected: resolve the exception first');
    }
    return undefined;
  },
  apply(s, a, clock) {
    const from = s.stage;
    closeTask(openTaskOf(s), clock, a.payload.by, 'reject');
    if (from === 'rejected') {
      s.stage = 'cancelled';
      record(
        s,
        clock,
        a.payload.by,
        'reject',
        'done',
        `Rejected for good; the invoice is cancelled and will not be paid: ${a.payload.reason}`,
      );
      return 'Cancelled; it will not be paid';
    }
    s.stage = 'rejected';
    record(s, clock, a.payload.by, 'reject', 'done', `Rejected in ${from}: ${a.payload.reason}`);
    openClerkTask(s, clock, 'rejected');
    return 'Rejected; the clerks can correct and resubmit it';
  },
};
