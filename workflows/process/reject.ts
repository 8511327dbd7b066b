/** Reject: the invoice goes to `rejected`, back to the clerks, who correct and resubmit it. */
import type { Action, Rule } from './actions';
import { checkTaskActor, openTaskOf } from './actions';
import { closeTask, openClerkTask } from './route';
import { record, refusal } from './state';

type Reject = Extract<Action, { kind: 'reject' }>;

export const reject: Rule<Reject> = {
  check(s, a) {
    const problem = checkTaskActor(s, a);
    if (problem) return problem;
    if (s.stage === 'rejected' || s.stage === 'exceptions_review')
      return refusal('wrong_stage', `An invoice in ${s.stage} cannot be rejected`);
    return undefined;
  },
  apply(s, a, clock) {
    const from = s.stage;
    closeTask(openTaskOf(s), clock, a.payload.by, 'reject');
    s.stage = 'rejected';
    record(s, clock, a.payload.by, 'reject', 'done', `Rejected in ${from}: ${a.payload.reason}`);
    openClerkTask(s, clock, 'rejected');
    return 'Rejected; the clerks can correct and resubmit it';
  },
};
