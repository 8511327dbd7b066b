/**
 * The administrators' actions (API or Temporal Web UI): restart from a stage with the route as the
 * flow template says now, reassign the open task or move the invoice to another step, and refresh
 * the open task's assignees after users, limits or clearance changed. Every new task is resolved
 * from current data, so a reassigned or refreshed assignee signs with their own rights.
 */
import type { TaskPurpose } from '../../domain/routing/assign';
import type { Action, Rule } from './actions';
import { clearSignatures } from './approve';
import { allActed, closeTask, completeAll, reopen } from './route';
import { currentTask, record, refusal, routingRows, type ProcessState, type Route, type Stage } from './state';

type Restart = Extract<Action, { kind: 'restart' }>;
type Reassign = Extract<Action, { kind: 'reassign' }>;
type Refresh = Extract<Action, { kind: 'refresh' }>;

/** The route step of a stage; -1 for `new`, undefined when the route has no such step. */
export function stepOf(route: Route, stage: Stage): number | undefined {
  if (stage === 'new') return -1;
  const index = route.steps.findIndex((s) => s.kind === stage);
  return index >= 0 ? index : undefined;
}

function noSuchStage(route: Route, stage: Stage) {
  const stages = ['new', ...new Set(route.steps.map((s) => s.kind))].join(', ');
  return refusal('wrong_stage', `The invoice's flow has no ${stage} stage; it has ${stages}`);
}

const why = (reason: string | undefined) => (reason ? `: ${reason}` : '');

export const restart: Rule<Restart> = {
  needs: () => ({ route: true }),
  check(s, a) {
    const stage = a.payload.stage ?? 'new';
    const route = a.lookups.route ?? s.route;
    if (stepOf(route, stage) === undefined) return noSuchStage(route, stage);
    return undefined;
  },
  apply(s, a, clock) {
    const stage = a.payload.stage ?? 'new';
    const open = currentTask(s);
    if (open) closeTask(open, clock, a.payload.by, 'restart');
    if (a.lookups.route) s.route = a.lookups.route;
    if (stage === 'new' || stage === 'review') clearSignatures(s, 'all');
    else if (stage === 'approval') clearSignatures(s, 'approval');
    if (stage === 'new') delete s.invoice.codedBy;
    delete s.returnTo;
    record(s, clock, a.payload.by, 'restart', 'done', `Restarted from ${stage}${why(a.payload.reason)}`);
    reopen(s, clock, stage, stepOf(s.route, stage)!);
    return `Restarted from ${stage}`;
  },
};

function targetPurpose(s: ProcessState, stage: Stage | undefined): TaskPurpose | undefined {
  if (stage === 'new') return 'registration';
  if (stage !== undefined) return stage as TaskPurpose;
  return currentTask(s)?.purpose;
}

export const reassign: Rule<Reassign> = {
  needs(s, a) {
    const purpose = targetPurpose(s, a.payload.stage);
    if (!a.payload.to || !purpose) return {};
    return { assignment: { purpose, spec: a.payload.to, fallback: false, exclude: [], invoice: s.invoice, rows: routingRows(s) } };
  },
  check(s, a) {
    const p = a.payload;
    const task = currentTask(s);
    if (p.stage !== undefined && stepOf(s.route, p.stage) === undefined) return noSuchStage(s.route, p.stage);
    if (p.taskId !== undefined && task?.id !== p.taskId) {
      return refusal('changed_concurrently', `Task ${p.taskId} is not the invoice's open task any more`);
    }
    if (p.stage === undefined && !task) return refusal('no_open_task', 'There is no open task to reassign');
    const assignment = a.lookups.assignment;
    if (p.to && !assignment) return refusal('not_ready', 'The new assignees could not be looked up; try again');
    if (assignment && !assignment.ok) return refusal('no_addressee', assignment.reason);
    return undefined;
  },
  apply(s, a, clock) {
    const p = a.payload;
    const from = s.stage;
    if (p.stage !== undefined) {
      const open = currentTask(s);
      if (open) closeTask(open, clock, p.by, 'reassign');
      record(s, clock, p.by, 'reassign', 'done', `Moved from ${from} to ${p.stage}${why(p.reason)}`);
      reopen(s, clock, p.stage, stepOf(s.route, p.stage)!);
    }
    const assignment = a.lookups.assignment;
    if (p.to && assignment?.ok) {
      const task = currentTask(s)!;
      const acted = task.mode === 'all' ? task.actedBy.filter((u) => !assignment.assignees.includes(u)) : [];
      task.assignees = [...assignment.assignees, ...acted];
      task.rights = assignment.rights;
      task.spec = p.to;
      task.left = task.left.filter((u) => !assignment.assignees.includes(u));
      task.shared = task.assignees.length > 1;
      task.state = 'open';
      s.requiredApprovals = assignment.requiredApprovals;
      for (const skipped of assignment.skipped) {
        record(s, clock, 'system', 'route', 'system', `${skipped.userId} is not given the ${task.stage} task: ${skipped.reason}`);
      }
      record(
        s,
        clock,
        p.by,
        'reassign',
        'done',
        `The ${task.stage} task is reassigned to ${assignment.assignees.join(', ')}${why(p.reason)}`,
      );
      // In mode all, the people now named may all have acted already: then the task is done.
      if (task.mode === 'all' && allActed(task)) completeAll(s, clock, task);
    }
    return 'Reassigned';
  },
};

export const refresh: Rule<Refresh> = {
  check(s) {
    return currentTask(s) ? undefined : refusal('no_open_task', 'There is no open task whose assignees could be refreshed');
  },
  apply(s, a, clock) {
    const task = currentTask(s)!;
    task.state = 'resolving';
    record(
      s,
      clock,
      a.payload.by,
      'refresh',
      'done',
      `The ${task.stage} task's assignees are resolved again from current data${why(a.payload.reason)}`,
    );
    return 'Assignees resolved again';
  },
};
