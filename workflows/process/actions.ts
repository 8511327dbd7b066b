/**
 * What an action is, what it needs looked up before it can be judged, and the checks every action
 * on a task shares. Each action family (approve.ts, reject.ts, ...) exports a {@link Rule}.
 */
import type { ActorFacts, AssignmentOutcome, AssignmentRequest, DelegateOutcome } from '../../domain/routing/assign';
import type { ActionName, ActionResult, Refusal } from '../definitions';
import type { CodingWritten } from '../../activities/replace-coding';
import type {
  ApprovePayload,
  CodingChangedPayload,
  DelegatePayload,
  ExceptionsReviewPayload,
  NotMinePayload,
  OverrideReviewPayload,
  ReassignPayload,
  RefreshPayload,
  RejectPayload,
  ResolveExceptionPayload,
  RestartPayload,
  ReviewAgainPayload,
} from '../payloads';
import { CLOSED_STAGES } from '../../domain/stages';
import { pendingOn } from './route';
import { currentTask, refusal, type Clock, type ProcessState, type Route, type Task } from './state';

/** What the workflow looked up (through activities) for an action, from current data. */
export interface Lookups {
  actor?: ActorFacts;
  delegate?: DelegateOutcome;
  /** Restart: the route as the flow template says now. */
  route?: Route;
  /** Reassign with `to`: who among the named people qualifies. */
  assignment?: AssignmentOutcome;
  /** A coding change: the rows as written (activity `replaceCoding`). */
  coding?: CodingWritten;
}

/** What must be looked up before an action is checked. */
export interface LookupNeeds {
  actor?: string;
  delegate?: { userId: string; request: AssignmentRequest };
  route?: boolean;
  assignment?: AssignmentRequest;
}

interface ActionOf<K extends ActionName, P> {
  kind: K;
  payload: P;
  /** Signals come from the Temporal Web UI or CLI: operator actions. */
  via: 'update' | 'signal';
  lookups: Lookups;
}

export type Action =
  | ActionOf<'approve', ApprovePayload>
  | ActionOf<'reject', RejectPayload>
  | ActionOf<'delegate', DelegatePayload>
  | ActionOf<'notMine', NotMinePayload>
  | ActionOf<'exceptionsReview', ExceptionsReviewPayload>
  | ActionOf<'resolveException', ResolveExceptionPayload>
  | ActionOf<'restart', RestartPayload>
  | ActionOf<'reassign', ReassignPayload>
  | ActionOf<'refresh', RefreshPayload>
  | ActionOf<'codingChanged', CodingChangedPayload>
  | ActionOf<'reviewAgain', ReviewAgainPayload>
  | ActionOf<'overrideReview', OverrideReviewPayload>;

export type ActionKind = Action['kind'];

/** One action family: why it cannot be taken now (or undefined), and what taking it does. */
export interface Rule<A extends Action = Action> {
  /** Lookups it needs beyond the actor (signals and admin actions always look up the actor). */
  needs?(s: ProcessState, a: A): LookupNeeds;
  check(s: ProcessState, a: A): Refusal | undefined;
  /** Applies an accepted action; answers the message of the result. */
  apply(s: ProcessState, a: A, clock: Clock): string;
}

export function isAdminAction(kind: ActionKind): boolean {
  return kind === 'restart' || kind === 'reassign' || kind === 'refresh';
}

/** Checks every action shares: the invoice is not finished, and the signal or admin action is an admin's. */
export function checkCommon(s: ProcessState, a: Action): Refusal | undefined {
  if (CLOSED_STAGES.includes(s.stage)) return refusal('finished', `The invoice is already in ${s.stage}; nothing is left to act on`);
  if ((a.via === 'signal' || isAdminAction(a.kind)) && !a.lookups.actor?.admin) {
    return a.via === 'signal'
      ? refusal('not_admin', `A Temporal signal's \`by\` must be an active admin of the invoice's company; ${a.payload.by} is not`)
      : refusal('not_admin', `Only an admin may ${a.kind} an invoice`);
  }
  return undefined;
}

/** The open task the acting user is asked to act on, or the refusal. */
export function checkTaskActor(s: ProcessState, a: Action & { payload: { taskId?: string | undefined } }): Refusal | undefined {
  const task = currentTask(s);
  if (!task || task.state !== 'open') return refusal('no_open_task', `There is no open task on this invoice in ${s.stage}`);
  if (a.payload.taskId !== undefined && a.payload.taskId !== task.id) {
    return refusal(
      'changed_concurrently',
      `Task ${a.payload.taskId} is no longer open: the invoice moved on to its ${task.stage} task meanwhile`,
    );
  }
  const by = a.payload.by;
  if (task.actedBy.includes(by)) return refusal('already_acted', 'You have already acted on this task');
  if (!pendingOn(task).includes(by)) {
    return refusal('not_assignee', `This is not your task: the ${task.stage} task is assigned to ${task.assignees.join(', ') || 'nobody'}`);
  }
  return undefined;
}

/** The open task; callers have checked it exists. */
export function openTaskOf(s: ProcessState): Task {
  const task = currentTask(s);
  if (!task || task.state !== 'open') throw new Error('no open task');
  return task;
}

export function result(s: ProcessState, from: string, message: string): ActionResult {
  const task = currentTask(s);
  return {
    stage: s.stage,
    moved: s.stage !== from,
    message,
    ...(task ? { openTask: { id: task.id, stage: task.stage, assignees: pendingOn(task) } } : {}),
  };
}
