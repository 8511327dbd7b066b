/**
 * Approve, by stage: register (`new`), resubmit (`rejected`), review, approval, control, copy.
 * In an approval step the approver signs every row their rights cover that still needs their
 * signature; the step is done when its task is (`any`: the first approver; `all`: every one).
 */
import { barredFromApproving, canApproveWith, rowNeeds } from '../../domain/routing/signatures';
import type { Action, Rule } from './actions';
import { checkTaskActor, openTaskOf } from './actions';
import { advanceTo, allActed, closeTask, completeAll, finishStep } from './route';
import { capitalise, currentTask, record, refusal, routingRows, suffix, type Clock, type ProcessState } from './state';

type Approve = Extract<Action, { kind: 'approve' }>;

export const approve: Rule<Approve> = {
  /** Registering takes the route as the flow template says now. */
  needs(s) {
    const purpose = currentTask(s)?.purpose;
    return purpose === 'registration' || purpose === 'resubmission' ? { route: true } : {};
  },
  check(s, a) {
    const problem = checkTaskActor(s, a);
    if (problem) return problem;
    const task = openTaskOf(s);
    const by = a.payload.by;
    switch (task.purpose) {
      case 'registration':
      case 'resubmission':
        if (s.codingProblem) return refusal('coding_incomplete', s.codingProblem);
        if (!a.lookups.route) return refusal('not_ready', 'The flow could not be looked up; try again');
        if (a.lookups.route.problem) return refusal('no_route', a.lookups.route.problem);
        return undefined;
      case 'exceptions':
        return refusal('wrong_stage', 'The invoice is in exceptions review: resolve the exception instead');
      case 'approval': {
        if (barredFromApproving(by, s.invoice)) {
          return refusal('segregation_of_duties', 'You submitted or coded this invoice, so you cannot approve it');
        }
        const rights = task.rights[by] ?? [];
        const able = task.mode === 'all' ? rights.length > 0 : canApproveWith(rights, routingRows(s), by, s.requiredApprovals);
        if (!able) {
          return refusal(
            'no_approval_rights',
            'You have no approval rights on any coding row of this invoice that still needs your signature',
          );
        }
        return undefined;
      }
      default:
        return undefined;
    }
  },

  apply(s, a, clock) {
    const task = openTaskOf(s);
    const { by, comment } = a.payload;
    const from = s.stage;
    switch (task.purpose) {
      case 'registration':
      case 'resubmission':
        if (task.purpose === 'resubmission') {
          clearSignatures(s, 'all');
          // Resubmitted after a correction: reviewed again (and counted against its obligation again).
          if (s.reviews) s.reviewDue = { trigger: 'request', by };
        }
        if (a.lookups.route) s.route = a.lookups.route;
        s.invoice.codedBy = by;
        // Whoever codes the invoice may not have signed it: such a signature no longer counts.
        for (const row of s.rows) row.approvals = row.approvals.filter((x) => !barredFromApproving(x.by, s.invoice));
        closeTask(task, clock, by, 'approve');
        record(s, clock, by, 'approve', 'done', `${task.purpose === 'registration' ? 'Registered' : 'Resubmitted'}${suffix(comment)}`);
        advanceTo(s, clock, 0);
        break;
      case 'approval':
        signApprovals(s, clock, by, task.rights[by] ?? [], comment);
        break;
      case 'review':
        for (const row of s.rows.filter((r) => !r.review)) row.review = { by, at: clock.now().toISOString() };
        record(s, clock, by, 'approve', 'done', `Review done${suffix(comment)}`);
        break;
      default:
        record(
          s,
          clock,
          by,
          'approve',
          'done',
          `${task.purpose === 'copy' ? 'Copy archived' : `${capitalise(task.purpose)} done`}${suffix(comment)}`,
        );
    }
    if (task.purpose !== 'registration' && task.purpose !== 'resubmission') {
      if (task.mode === 'any') {
        closeTask(task, clock, by, 'approve');
        finishStep(s, clock, task);
      } else {
        task.actedBy.push(by);
        if (allActed(task)) completeAll(s, clock, task);
      }
    }
    return s.stage === from ? `Still in ${from}` : `Sent on to ${s.stage}`;
  },
};

function signApprovals(s: ProcessState, clock: Clock, by: string, rights: readonly string[], comment: string | undefined): void {
  const at = clock.now().toISOString();
  let signed = 0;
  for (const row of s.rows) {
    const view = { id: row.id, dimensions: row.dimensions, approvers: row.approvals.map((x) => x.by) };
    if (rights.includes(row.id) && rowNeeds(view, by, s.requiredApprovals)) {
      row.approvals.push({ by, at });
      signed += 1;
    }
  }
  const message = signed > 0 ? `Approved ${signed} of ${s.rows.length} coding rows` : 'Approved (every row was signed already)';
  record(s, clock, by, 'approve', 'done', `${message}${suffix(comment)}`);
}

/** Clears signatures: all of them (review and approval), or the approvals only. */
export function clearSignatures(s: ProcessState, which: 'all' | 'approval'): void {
  for (const row of s.rows) {
    if (which === 'all') delete row.review;
    row.approvals = [];
  }
}
