/**
 * Delegate: the acting assignee hands their place on the task to a colleague, or to a user of a
 * partner environment, who takes it with their own rights (looked up now). In mode `all` the
 * delegate owes the action the delegator owed.
 */
import type { Action, Rule } from './actions';
import { checkTaskActor, openTaskOf } from './actions';
import { assignmentRequest } from './route';
import { currentTask, record, refusal, suffix } from './state';

type Delegate = Extract<Action, { kind: 'delegate' }>;

export const delegate: Rule<Delegate> = {
  needs(s, a) {
    const task = currentTask(s);
    return task ? { delegate: { userId: a.payload.to, request: assignmentRequest(s, task) } } : {};
  },
  check(s, a) {
    const problem = checkTaskActor(s, a);
    if (problem) return problem;
    const task = openTaskOf(s);
    const { by, to } = a.payload;
    if (to === by) return refusal('invalid_payload', 'You cannot delegate a task to yourself');
    if (task.assignees.includes(to)) return refusal('invalid_payload', `${to} is already on this task`);
    const outcome = a.lookups.delegate;
    if (!outcome) return refusal('not_ready', 'The delegate could not be looked up; try again');
    if (!outcome.ok) return refusal(outcome.code, outcome.reason);
    return undefined;
  },
  apply(s, a, clock) {
    const task = openTaskOf(s);
    const { by, to, comment } = a.payload;
    const outcome = a.lookups.delegate;
    task.assignees = task.assignees.map((u) => (u === by ? to : u));
    delete task.rights[by];
    if (outcome?.ok && task.purpose === 'approval') task.rights[to] = outcome.rights;
    task.left = [...task.left.filter((u) => u !== to), by];
    record(s, clock, by, 'delegate', 'done', `Delegated the ${task.stage} task to ${to}${suffix(comment)}`);
    return `Delegated to ${to}`;
  },
};
