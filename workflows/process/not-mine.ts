/**
 * Not mine: an assignee of a task opened for several users leaves it, doing nothing else. In mode
 * `all` their action is no longer awaited. When the last one leaves, the task is resolved again
 * without them: the admins who qualify, then (approval) any approver who does, else exceptions review.
 */
import type { Action, Rule } from './actions';
import { checkTaskActor, openTaskOf } from './actions';
import { allActed, completeAll, pendingOn } from './route';
import { record, refusal } from './state';

type NotMine = Extract<Action, { kind: 'notMine' }>;

export const notMine: Rule<NotMine> = {
  check(s, a) {
    const problem = checkTaskActor(s, a);
    if (problem) return problem;
    if (!openTaskOf(s).shared)
      return refusal('not_shared', 'Not mine is only for a task shared by several users; delegate or reject instead');
    return undefined;
  },
  apply(s, a, clock) {
    const task = openTaskOf(s);
    const by = a.payload.by;
    task.assignees = task.assignees.filter((u) => u !== by);
    delete task.rights[by];
    task.left.push(by);
    record(s, clock, by, 'notMine', 'done', `Left the shared ${task.stage} task (not mine)`);
    if (task.mode === 'all' && allActed(task)) {
      completeAll(s, clock, task);
    } else if (pendingOn(task).length === 0) {
      record(s, clock, 'system', 'route', 'system', 'The last assignee left the task; it goes to the admins');
      delete task.spec;
      task.state = 'resolving';
    }
    return 'Removed from the task';
  },
};
