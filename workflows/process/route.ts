/**
 * Moving an invoice along its route: opening tasks (to be resolved from current data), taking in
 * who they were resolved to, advancing past a finished step, and the gate before payment. Every
 * action ends in one of these, so the invariants are kept here.
 */
import type { AssignmentOutcome, AssignmentRequest, TaskPurpose } from '../../domain/routing/assign';
import type { AssigneeSpec } from '../../domain/flow';
import type { Stage, TaskMode } from '../../domain/stages';
import { blockedByReview, rejectForReview } from './review';
import {
  currentTask,
  fullySigned,
  record,
  routingRows,
  unsignedRows,
  type Clock,
  type PendingAssignment,
  type ProcessState,
  type Task,
} from './state';

export interface OpenTaskOptions {
  stage: Stage;
  step: number;
  purpose: TaskPurpose;
  mode: TaskMode;
  spec?: AssigneeSpec | undefined;
  message?: string | undefined;
}

/** Opens a task whose assignees are resolved next (the workflow asks `resolveAssignment`). */
export function openTask(s: ProcessState, clock: Clock, o: OpenTaskOptions): Task {
  s.taskCount += 1;
  const task: Task = {
    id: `${s.workflowId}/${s.taskCount}`,
    stage: o.stage,
    step: o.step,
    purpose: o.purpose,
    mode: o.mode,
    state: 'resolving',
    assignees: [],
    rights: {},
    actedBy: [],
    left: [],
    ...(o.spec ? { spec: o.spec } : {}),
    shared: false,
    openedAt: clock.now().toISOString(),
    ...(o.message ? { message: o.message } : {}),
  };
  s.tasks.push(task);
  s.stage = o.stage;
  s.step = o.step;
  return task;
}

export function closeTask(task: Task, clock: Clock, by: string, action: string): void {
  if (!task.actedBy.includes(by)) task.actedBy.push(by);
  task.state = 'done';
  task.action = action;
  task.closedAt = clock.now().toISOString();
  delete task.escalating;
}

/** The clerks' task of `new`, `rejected` or `exceptions_review`. */
export function openClerkTask(s: ProcessState, clock: Clock, stage: 'new' | 'rejected' | 'exceptions_review', message?: string): Task {
  const purpose = stage === 'new' ? 'registration' : stage === 'rejected' ? 'resubmission' : 'exceptions';
  return openTask(s, clock, { stage, step: -1, purpose, mode: 'any', message });
}

/** Opens the task of route step `index`; past the last step, the gate before payment. */
export function advanceTo(s: ProcessState, clock: Clock, index: number): void {
  const step = s.route.steps[index];
  if (!step) {
    gate(s, clock, index);
    return;
  }
  if (step.kind === 'approval' && blockedByReview(s)) {
    rejectForReview(s, clock, index);
    return;
  }
  openTask(s, clock, { stage: step.kind, step: index, purpose: step.kind, mode: step.mode, spec: step.assignees });
}

/**
 * The only way into `payment`: every coding row carries its approval signatures. Otherwise an
 * approval task for the remaining rows goes to whoever may sign them (admins, then any approver).
 */
export function gate(s: ProcessState, clock: Clock, index: number): void {
  if (fullySigned(s)) {
    s.stage = 'payment';
    s.step = index;
    record(s, clock, 'system', 'route', 'system', 'Every coding row carries its approval signatures; waiting for final posting');
    return;
  }
  if (blockedByReview(s)) {
    rejectForReview(s, clock, index);
    return;
  }
  const missing = unsignedRows(s).length;
  record(
    s,
    clock,
    'system',
    'route',
    'system',
    `${missing} coding row${missing === 1 ? '' : 's'} still need an approval signature before payment`,
  );
  openTask(s, clock, { stage: 'approval', step: index, purpose: 'approval', mode: 'any' });
}

/** Reopens a stage as if the invoice had just arrived there. */
export function reopen(s: ProcessState, clock: Clock, stage: Stage, step: number): void {
  if (stage === 'new' || stage === 'rejected' || stage === 'exceptions_review') {
    openClerkTask(s, clock, stage);
    return;
  }
  if (stage === 'payment' || step >= s.route.steps.length) {
    gate(s, clock, step);
    return;
  }
  advanceTo(s, clock, step);
}

/** Sends the invoice to exceptions review with the reason; resolving the exception returns to `returnTo`. */
export function toExceptions(s: ProcessState, clock: Clock, reason: string, returnTo: { stage: Stage; step: number }): void {
  s.returnTo = returnTo;
  record(s, clock, 'system', 'exceptionsReview', 'system', `Sent to exceptions review: ${reason}`);
  openClerkTask(s, clock, 'exceptions_review', reason);
}

/** The assignment the workflow must resolve next, if any. */
export function pendingAssignment(s: ProcessState): PendingAssignment | undefined {
  const task = currentTask(s);
  if (!task) return undefined;
  if (task.state === 'resolving') return { taskId: task.id, kind: 'open', request: assignmentRequest(s, task) };
  if (task.escalating) {
    const step = s.route.steps[task.step];
    return {
      taskId: task.id,
      kind: 'escalate',
      request: {
        ...assignmentRequest(s, task),
        spec: step?.escalateTo,
        fallback: true,
        exclude: [...new Set([...task.assignees, ...task.left])],
      },
    };
  }
  return undefined;
}

/** What a task's assignees are resolved from: its spec, the invoice, the rows and who must not get it. */
export function assignmentRequest(s: ProcessState, task: Task): AssignmentRequest {
  return {
    purpose: task.purpose,
    ...(task.spec ? { spec: task.spec } : {}),
    fallback: true,
    exclude: [...new Set([...task.left, ...(task.mode === 'any' ? task.actedBy : [])])],
    invoice: s.invoice,
    rows: routingRows(s),
  };
}

/**
 * Takes in who a task was resolved to. Nobody qualifying sends a flow task to exceptions review
 * with the reason; the clerks' tasks go to the admins in the resolver, so nobody there means the
 * company has no active admin who can see the invoice, which the workflow flags for operators.
 */
export function assigned(s: ProcessState, clock: Clock, pending: PendingAssignment, outcome: AssignmentOutcome): void {
  const task = s.tasks.find((t) => t.id === pending.taskId);
  if (!task || task.state === 'done') return;
  s.requiredApprovals = outcome.requiredApprovals;
  if (pending.kind === 'escalate') {
    escalated(s, clock, task, outcome);
    return;
  }
  if (!outcome.ok) {
    if (task.purpose === 'registration' || task.purpose === 'resubmission' || task.purpose === 'exceptions') {
      task.state = 'open';
      task.assignees = [];
      record(s, clock, 'system', 'route', 'system', `${outcome.reason}; an administrator must give the company an active clerk or admin`);
      return;
    }
    closeTask(task, clock, 'system', 'unassignable');
    toExceptions(s, clock, outcome.reason, { stage: task.stage, step: task.step });
    return;
  }
  const acted = task.mode === 'all' ? task.actedBy.filter((u) => !outcome.assignees.includes(u)) : [];
  task.assignees = [...outcome.assignees, ...acted];
  task.rights = outcome.rights;
  task.shared = task.assignees.length > 1;
  task.state = 'open';
  for (const s2 of outcome.skipped)
    record(s, clock, 'system', 'route', 'system', `${s2.userId} is not given the ${task.stage} task: ${s2.reason}`);
  if (outcome.source === 'admins' || outcome.source === 'approvers') {
    const who = outcome.source === 'admins' ? 'the admins' : 'the approvers';
    record(
      s,
      clock,
      'system',
      'route',
      'system',
      `Nobody named for the ${task.stage} task can take it; it goes to ${who}: ${task.assignees.join(', ')}`,
    );
  }
  if (task.mode === 'all' && allActed(task)) completeAll(s, clock, task);
}

function escalated(s: ProcessState, clock: Clock, task: Task, outcome: AssignmentOutcome): void {
  delete task.escalating;
  task.escalatedAt = clock.now().toISOString();
  const added = outcome.ok ? outcome.assignees.filter((u) => !task.assignees.includes(u)) : [];
  if (outcome.ok) {
    task.assignees = [...task.assignees, ...added];
    task.rights = { ...task.rights, ...Object.fromEntries(added.map((u) => [u, outcome.rights[u] ?? []])) };
    task.shared = task.assignees.length > 1;
  }
  record(
    s,
    clock,
    'system',
    'escalation',
    'system',
    added.length > 0
      ? `Escalated after waiting too long; added ${added.join(', ')}`
      : `Escalated after waiting too long; nobody new can take it`,
  );
  const to = added.length > 0 ? added : pendingOn(task);
  s.outbox.push({ key: `${task.id}:escalation`, kind: 'escalation', taskId: task.id, to });
}

/** Assignees who have still to act (for `any`: all of them). */
export function pendingOn(task: Task): string[] {
  return task.mode === 'all' ? task.assignees.filter((u) => !task.actedBy.includes(u)) : [...task.assignees];
}

export function allActed(task: Task): boolean {
  return task.assignees.length > 0 && task.assignees.every((u) => task.actedBy.includes(u));
}

/**
 * A task in mode `all` whose assignees have all acted is done: an approval step with rows still
 * unsigned goes on with a task for the approvers who can sign them; otherwise the invoice advances.
 */
export function completeAll(s: ProcessState, clock: Clock, task: Task): void {
  task.state = 'done';
  task.action = 'approve';
  task.closedAt = clock.now().toISOString();
  finishStep(s, clock, task);
}

/** After a step's task is done: more signatures needed in an approval step, or on to the next step. */
export function finishStep(s: ProcessState, clock: Clock, task: Task): void {
  if (task.purpose === 'approval' && unsignedRows(s).length > 0) {
    const step = s.route.steps[task.step];
    openTask(s, clock, { stage: 'approval', step: task.step, purpose: 'approval', mode: 'any', spec: step?.assignees });
    return;
  }
  advanceTo(s, clock, task.step + 1);
}
