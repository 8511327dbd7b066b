/**
 * How the automatic review steers the route (SPEC 2.3, authorization scheme options): an
 * incorrect invoice that reaches approval is rejected with the failed checks as the comment, when
 * the company asks for that; and such an invoice goes back to approval, with the signatures that
 * are still valid, once a later review finds it correct, when the company asks for that too.
 */
import { closeTask, openClerkTask, reopen } from './route';
import type { Action, Rule } from './actions';
import { currentTask, record, refusal, suffix, type Clock, type ProcessState, type ReviewFacts } from './state';

/** Whether the review stops the invoice from going into approval now. */
export function blockedByReview(s: ProcessState): boolean {
  return !!s.review && s.review.status === 'incorrect' && s.review.autoReject;
}

/** Rejects the invoice on the review's findings, remembering the approval step it was going to. */
export function rejectForReview(s: ProcessState, clock: Clock, step: number): void {
  const open = currentTask(s);
  if (open) closeTask(open, clock, 'system', 'reject');
  s.autoRejected = { step };
  s.stage = 'rejected';
  record(
    s,
    clock,
    'system',
    'reject',
    'system',
    `Rejected automatically by the invoice review: ${s.review?.failed.join('; ') || 'incorrect'}`,
  );
  openClerkTask(s, clock, 'rejected', `Incorrect: ${s.review?.failed.join('; ') || 'see the review'}`);
}

/** Takes in a review result: records it, and rejects or re-authorizes as the company's options say. */
export function reviewed(s: ProcessState, clock: Clock, result: ReviewFacts): void {
  delete s.reviewDue;
  s.review = result;
  const findings = result.failed.length > 0 ? `: ${result.failed.join('; ')}` : '';
  record(s, clock, 'system', 'review', 'system', `Reviewed ${result.status.replace('_', ' ')}${findings}`);
  const task = currentTask(s);
  if (s.stage === 'approval' && task?.purpose === 'approval' && blockedByReview(s)) {
    rejectForReview(s, clock, task.step);
    return;
  }
  const correct = result.status === 'correct' || result.status === 'manually_correct';
  if (s.stage === 'rejected' && s.autoRejected && correct && result.autoReauthorize) {
    const { step } = s.autoRejected;
    delete s.autoRejected;
    if (task) closeTask(task, clock, 'system', 'reauthorize');
    record(
      s,
      clock,
      'system',
      'reauthorize',
      'system',
      'Reviewed correct after its automatic rejection: back to approval, with the signatures that still hold',
    );
    reopen(s, clock, 'approval', step);
  }
}

type ReviewAgain = Extract<Action, { kind: 'reviewAgain' }>;
type OverrideReview = Extract<Action, { kind: 'overrideReview' }>;

/** The permission that lets a user mark an invoice correct by hand. */
export const REVIEW_OVERRIDE = 'review:override';

const reviewOff = () => refusal('review_off', 'Automatic review is not on for this invoice (it started before review existed)');

/** Review again, with the rules in force now. */
export const reviewAgain: Rule<ReviewAgain> = {
  check: (s) => (s.reviews ? undefined : reviewOff()),
  apply(s, a, clock) {
    s.reviewDue = { trigger: 'request', by: a.payload.by, ...(a.payload.comment ? { comment: a.payload.comment } : {}) };
    record(s, clock, a.payload.by, 'reviewAgain', 'done', `Review requested${suffix(a.payload.comment)}`);
    return 'Reviewed again';
  },
};

/** Mark correct by hand: after it, the invoice is not reviewed automatically any more. */
export const overrideReview: Rule<OverrideReview> = {
  needs: (_s, a) => ({ actor: a.payload.by }),
  check(s, a) {
    if (!s.reviews) return reviewOff();
    if (!a.lookups.actor?.permissions?.includes(REVIEW_OVERRIDE)) {
      return refusal('not_admin', `Changing the review by hand needs the ${REVIEW_OVERRIDE} permission`);
    }
    return undefined;
  },
  apply(s, a, clock) {
    s.reviewDue = { trigger: 'override', by: a.payload.by, comment: a.payload.comment };
    record(s, clock, a.payload.by, 'overrideReview', 'done', `Marked correct by hand: ${a.payload.comment}`);
    return 'Marked correct by hand';
  },
};
