/**
 * The invoice's routing rules as a plain, deterministic state machine. The workflow feeds it
 * actions (with what it looked up for them), the assignments it resolved, timers and posting
 * outcomes, and persists its snapshots; tests drive it directly. The invariants it keeps are
 * stated and checked in `invariants.ts`.
 */
import type { AssignmentOutcome } from '../../domain/routing/assign';
import type { ActionResult, InvoiceState, Refusal, TaskView } from '../definitions';
import { checkCommon, isAdminAction, result, type Action, type ActionKind, type LookupNeeds, type Rule } from './actions';
import { reassign, refresh, restart } from './admin';
import { approve } from './approve';
import { codingChanged } from './coding';
import { delegate } from './delegate';
import { exceptionsReview, resolveException } from './exceptions';
import { notMine } from './not-mine';
import { reject } from './reject';
import { overrideReview, reviewAgain, reviewed } from './review';
import { advanceTo, assigned, closeTask, gate, openClerkTask, pendingAssignment, pendingOn, toExceptions } from './route';
import {
  copy,
  currentTask,
  record,
  type AgreementFacts,
  type Clock,
  type PendingAssignment,
  type ProcessState,
  type ReviewFacts,
  type Route,
  type Task,
} from './state';
import type { RoutingInvoice } from '../../domain/routing/assign';

export type { Action, ActionKind, LookupNeeds, Lookups } from './actions';
export type { PendingAssignment, ProcessState, Route, RouteStep, Task } from './state';

/** The rule of each action kind. */
const RULES: { [K in ActionKind]: Rule<Extract<Action, { kind: K }>> } = {
  approve,
  reject,
  delegate,
  notMine,
  exceptionsReview,
  resolveException,
  restart,
  reassign,
  refresh,
  codingChanged,
  reviewAgain,
  overrideReview,
};

function ruleOf<K extends ActionKind>(kind: K): Rule<Extract<Action, { kind: K }>> {
  return RULES[kind];
}

/** What the workflow learns about an invoice before routing it (activity `prepareRouting`). */
export interface Preparation {
  invoice: RoutingInvoice;
  rows: { id: string; kind: 'expense' | 'tax'; dimensions: Record<string, string>; approvedBy?: string; agreementId?: string }[];
  route: Route;
  /** Matched with a valid signature (or a flow template to send it up). */
  agreement?: AgreementFacts;
  codingProblem?: string;
  /** The start rule that applied, if any (its mail, if it wrote one, is queued already). */
  start?: StartRuleOutcome;
}

/** What a start rule decided for the invoice's start. */
export interface StartRuleOutcome {
  ruleId: string;
  version: number;
  name: string;
  outcome:
    | { kind: 'assign'; to: { users?: string[]; groups?: string[]; roles?: string[] } }
    | { kind: 'reject'; reason: string }
    | { kind: 'mail'; to: string; awaitReplyMs?: number };
}

/** A reminder or escalation the open task is due for. */
export interface DueTimer {
  taskId: string;
  /** The task's reminder and escalation; the supplier's answer awaited (a reminder to them, then the clerks). */
  kind: 'reminder' | 'escalation' | 'supplierReminder' | 'supplierSilent';
  at: number;
}

export class InvoiceProcess {
  private constructor(
    private s: ProcessState,
    private readonly clock: Clock,
  ) {}

  /** A new invoice: registration by the clerks, or, matched to an agreement, further by itself. */
  static start(invoiceId: string, workflowId: string, prep: Preparation, clock: Clock, opts: { reviews?: boolean } = {}): InvoiceProcess {
    const at = clock.now().toISOString();
    const s: ProcessState = {
      version: 2,
      invoiceId,
      workflowId,
      invoice: { ...prep.invoice },
      route: prep.route,
      ...(prep.agreement ? { agreement: prep.agreement } : {}),
      ...(prep.codingProblem ? { codingProblem: prep.codingProblem } : {}),
      stage: 'new',
      step: -1,
      seq: 0,
      taskCount: 0,
      requiredApprovals: 1,
      rows: prep.rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        dimensions: r.dimensions,
        approvals: r.approvedBy ? [{ by: r.approvedBy, at, ...(r.agreementId ? { agreementId: r.agreementId } : {}) }] : [],
      })),
      tasks: [],
      history: [],
      outbox: [],
      ...(opts.reviews ? { reviews: true, reviewDue: { trigger: 'intake' as const, by: 'system' } } : {}),
    };
    const p = new InvoiceProcess(s, clock);
    const agreement = prep.agreement;
    if (agreement && !prep.codingProblem) {
      record(s, clock, 'system', 'agreement', 'system', `Agreement invoice (agreement ${agreement.id}): coded and signed by the agreement`);
      if (agreement.touchless) {
        record(s, clock, 'system', 'route', 'system', 'Touchless agreement invoice; straight to final posting');
        gate(s, clock, s.route.steps.length);
      } else {
        const index = s.route.steps.findIndex((step) => step.kind === agreement.stage);
        advanceTo(s, clock, index >= 0 ? index : 0);
      }
      return p;
    }
    const rule = prep.start;
    if (rule?.outcome.kind === 'reject') {
      s.stage = 'rejected';
      record(
        s,
        clock,
        'system',
        'reject',
        'system',
        `Rejected by start rule "${rule.name}" (version ${rule.version}): ${rule.outcome.reason}`,
      );
      openClerkTask(s, clock, 'rejected', rule.outcome.reason);
      return p;
    }
    record(s, clock, 'system', 'received', 'system', 'Invoice received; waiting for registration by a clerk');
    if (prep.codingProblem) record(s, clock, 'system', 'coding', 'system', prep.codingProblem);
    if (prep.route.problem) record(s, clock, 'system', 'route', 'system', prep.route.problem);
    const task = openClerkTask(s, clock, 'new');
    if (rule?.outcome.kind === 'assign') {
      task.spec = rule.outcome.to;
      record(
        s,
        clock,
        'system',
        'route',
        'system',
        `Start rule "${rule.name}" (version ${rule.version}) gives the first task to ${describeSpec(rule.outcome.to)}`,
      );
    } else if (rule?.outcome.kind === 'mail' && rule.outcome.awaitReplyMs !== undefined) {
      s.awaitingReply = { since: clock.now().toISOString(), periodMs: rule.outcome.awaitReplyMs, rule: rule.name };
      task.message = `Waiting for the answer of ${rule.outcome.to} (start rule "${rule.name}")`;
      record(s, clock, 'system', 'mail', 'system', `Start rule "${rule.name}" wrote to ${rule.outcome.to}; waiting for the answer`);
    }
    return p;
  }

  /** Picks up the state a previous run handed over at continue-as-new. */
  static restore(data: unknown, clock: Clock): InvoiceProcess {
    return new InvoiceProcess(copy(data as ProcessState), clock);
  }

  /** For continue-as-new: everything needed to pick up where this run stopped. */
  toJSON(): ProcessState {
    return copy(this.s);
  }

  /** Grows with every change the workflow persists. */
  get version(): number {
    return this.s.seq;
  }

  get stage(): ProcessState['stage'] {
    return this.s.stage;
  }

  /** The open (or still resolving) task. */
  get task(): Task | undefined {
    return currentTask(this.s);
  }

  /** Who the open task waits for. */
  get waitingOn(): string[] {
    const task = this.task;
    return task && task.state === 'open' ? pendingOn(task) : [];
  }

  /** An open task with nobody on it: only when the company has no active clerk or admin who can see the invoice. */
  get unassigned(): boolean {
    const task = this.task;
    return !!task && task.state === 'open' && pendingOn(task).length === 0;
  }

  get historyLength(): number {
    return this.s.history.length;
  }

  /** What must be looked up before `action` can be checked. */
  needs(action: Action): LookupNeeds {
    const rule = ruleOf(action.kind) as Rule;
    const needs = rule.needs?.(this.s, action) ?? {};
    if (action.via === 'signal' || isAdminAction(action.kind)) needs.actor = action.payload.by;
    return needs;
  }

  /** Why an action cannot be taken now, or undefined when it can. */
  check(action: Action): Refusal | undefined {
    return checkCommon(this.s, action) ?? (ruleOf(action.kind) as Rule).check(this.s, action);
  }

  /** Applies an action that {@link check} accepted; the result is complete once assignments are settled. */
  apply(action: Action): string {
    const message = (ruleOf(action.kind) as Rule).apply(this.s, action, this.clock);
    if (action.via === 'signal') {
      const last = this.s.history[this.s.history.length - 1];
      if (last && last.actor === action.payload.by) last.message += ' (by Temporal signal)';
    }
    return message;
  }

  /** The result of an action as the caller sees it, after its new task (if any) was assigned. */
  result(from: ProcessState['stage'], message: string): ActionResult {
    return result(this.s, from, message);
  }

  /** Records a refused action, changing nothing else. */
  recordRefusal(action: { kind: string; payload: { by?: unknown } }, why: Refusal, via: 'update' | 'signal'): void {
    const actor = typeof action.payload?.by === 'string' && action.payload.by ? action.payload.by : 'unknown';
    const source = via === 'signal' ? 'Temporal signal' : 'update';
    record(this.s, this.clock, actor, action.kind, 'refused', `${action.kind} by ${source} refused: ${why.message}`);
  }

  /** The assignment the workflow must resolve next (activity `resolveAssignment`). */
  pendingAssignment(): PendingAssignment | undefined {
    return pendingAssignment(this.s);
  }

  assigned(pending: PendingAssignment, outcome: AssignmentOutcome): void {
    assigned(this.s, this.clock, pending, outcome);
  }

  /** The review the workflow must run next (activity `reviewInvoice`), if any. */
  get reviewDue(): ProcessState['reviewDue'] {
    return this.s.reviewDue;
  }

  /** Takes in a review result (which may reject or re-authorize the invoice). */
  reviewed(result: ReviewFacts): void {
    reviewed(this.s, this.clock, result);
  }

  /** The invoice holds a share of an obligation that its stage says it must give back. */
  get obligationHeld(): boolean {
    return !!this.s.review?.holdsObligation;
  }

  obligationReleased(): void {
    if (this.s.review) this.s.review.holdsObligation = false;
    record(this.s, this.clock, 'system', 'obligation', 'system', 'Its share of the obligation is given back');
  }

  /** A review could not run for good (bad data): recorded, and not retried. */
  reviewFailed(reason: string): void {
    delete this.s.reviewDue;
    record(this.s, this.clock, 'system', 'review', 'system', `The review could not run: ${reason}`);
  }

  /** The reminder or escalation the open task is due for next, if its step has one. */
  nextTimer(): DueTimer | undefined {
    const task = this.task;
    if (!task || task.state !== 'open' || task.escalating) return undefined;
    // Waiting for a supplier only matters while the invoice waits for its registration.
    const waiting = task.purpose === 'registration' ? this.s.awaitingReply : undefined;
    if (waiting) {
      const since = Date.parse(waiting.since);
      return waiting.reminded
        ? { taskId: task.id, kind: 'supplierSilent', at: since + 2 * waiting.periodMs }
        : { taskId: task.id, kind: 'supplierReminder', at: since + waiting.periodMs };
    }
    const step = this.s.route.steps[task.step];
    if (!step || task.purpose !== step.kind) return undefined;
    const opened = Date.parse(task.openedAt);
    const due: DueTimer[] = [];
    if (step.reminderAfterMs !== undefined && !task.remindedAt)
      due.push({ taskId: task.id, kind: 'reminder', at: opened + step.reminderAfterMs });
    if (step.escalateAfterMs !== undefined && !task.escalatedAt) {
      due.push({ taskId: task.id, kind: 'escalation', at: opened + step.escalateAfterMs });
    }
    return due.sort((a, b) => a.at - b.at)[0];
  }

  /** A timer fired: the reminder goes out by mail; an escalation resolves its extra assignees next. */
  fire(timer: DueTimer): void {
    const task = this.task;
    if (!task || task.id !== timer.taskId || task.state !== 'open') return;
    const waiting = task.purpose === 'registration' ? this.s.awaitingReply : undefined;
    if (timer.kind === 'supplierReminder' && waiting) {
      waiting.reminded = true;
      this.s.outbox.push({ key: `${this.s.workflowId}:supplier-reminder`, kind: 'supplier_reminder', taskId: task.id, to: [] });
      record(this.s, this.clock, 'system', 'mail', 'system', 'No answer from the supplier yet: reminded them');
      return;
    }
    if (timer.kind === 'supplierSilent' && waiting) {
      delete this.s.awaitingReply;
      closeTask(task, this.clock, 'system', 'noAnswer');
      record(
        this.s,
        this.clock,
        'system',
        'mail',
        'system',
        `No answer from the supplier (start rule "${waiting.rule}"): the clerks take it up`,
      );
      const fresh = openClerkTask(this.s, this.clock, 'new', 'No answer from the supplier: take it up');
      this.s.outbox.push({ key: `${this.s.workflowId}:supplier-silent`, kind: 'clerk_notice', taskId: fresh.id, to: pendingOn(task) });
      return;
    }
    if (timer.kind === 'reminder') {
      task.remindedAt = this.clock.now().toISOString();
      const to = pendingOn(task);
      this.s.outbox.push({ key: `${task.id}:reminder`, kind: 'reminder', taskId: task.id, to });
      record(this.s, this.clock, 'system', 'reminder', 'system', `Reminder sent to ${to.join(', ') || 'nobody'}`);
    } else {
      task.escalating = true;
    }
  }

  /** A supplier's answer arrived (stored as an invoice message): the invoice waits no longer. */
  supplierReplied(message: { subject: string; from: string }): string {
    const waiting = this.s.awaitingReply;
    delete this.s.awaitingReply;
    const task = this.task;
    if (waiting && task?.message?.startsWith('Waiting for the answer')) task.message = `The supplier answered: ${message.subject}`;
    const what = waiting
      ? `The wait for an answer (start rule "${waiting.rule}") is over`
      : 'A message came in while nothing waited for one';
    record(this.s, this.clock, 'system', 'supplierReplied', 'system', `${what}: ${message.from} wrote "${message.subject}"`);
    return waiting ? 'The answer arrived; the invoice goes on' : 'The message is kept with the invoice';
  }

  /** Final posting wrote the journal. */
  posted(journalEntryId: string): void {
    this.s.stage = 'posted';
    this.s.journalEntryId = journalEntryId;
    record(this.s, this.clock, 'system', 'post', 'system', `Posted as journal entry ${journalEntryId}`);
  }

  /** Final posting refused the invoice for good: exceptions review, then back through the payment gate. */
  postingFailed(reason: string): void {
    toExceptions(this.s, this.clock, `Posting refused: ${reason}`, { stage: 'payment', step: this.s.step });
  }

  /** Drops history and finished tasks already persisted, before continue-as-new. */
  trim(): void {
    this.s.history = [];
    this.s.tasks = this.s.tasks.filter((t) => t.state !== 'done');
  }

  /** Mails decided since the last snapshot. */
  takeOutbox(): InvoiceState['mails'] {
    const mails = this.s.outbox;
    this.s.outbox = [];
    return mails;
  }

  /** Gives mails back when their snapshot could not be persisted. */
  returnOutbox(mails: NonNullable<InvoiceState['mails']>): void {
    this.s.outbox = [...mails, ...this.s.outbox];
  }

  /** The whole state, with `seq` increased so the projection can tell newer from older. */
  snapshot(): InvoiceState {
    this.s.seq += 1;
    return this.state();
  }

  /** The state as the `state` query answers it. */
  state(): InvoiceState {
    const s = this.s;
    return copy({
      invoiceId: s.invoiceId,
      stage: s.stage,
      seq: s.seq,
      tasks: s.tasks.map(taskView),
      rows: s.rows.map((r) => ({
        rowId: r.id,
        ...(r.review ? { reviewedBy: r.review.by, reviewedAt: r.review.at } : {}),
        ...(r.approvals[0] ? { approvedBy: r.approvals[0].by, approvedAt: r.approvals[0].at } : {}),
        ...(r.approvals[1] ? { secondApprovedBy: r.approvals[1].by, secondApprovedAt: r.approvals[1].at } : {}),
      })),
      history: s.history,
      requiredApprovals: s.requiredApprovals,
      ...(s.journalEntryId ? { journalEntryId: s.journalEntryId } : {}),
    });
  }

  /** The raw state, for the invariant checks of the tests. */
  get raw(): Readonly<ProcessState> {
    return this.s;
  }
}

/** `BlockedOn` when no activity holds the invoice up: `nobody` when its open task has nobody to act. */
export function blockedOnPeople(p: InvoiceProcess): string {
  return p.unassigned ? 'nobody' : '';
}

function describeSpec(spec: { users?: string[]; groups?: string[]; roles?: string[] }): string {
  const parts = [...(spec.users ?? []), ...(spec.groups ?? []).map((g) => `group ${g}`), ...(spec.roles ?? []).map((r) => `role ${r}`)];
  return parts.join(', ');
}

function taskView(t: Task): TaskView {
  return {
    id: t.id,
    stage: t.stage,
    step: t.step,
    mode: t.mode,
    state: t.state === 'done' ? 'done' : 'open',
    assignees: t.assignees,
    actedBy: t.actedBy,
    ...(t.shared ? { shared: true } : {}),
    ...(t.action ? { action: t.action } : {}),
    ...(t.message ? { message: t.message } : {}),
    ...(t.remindedAt ? { remindedAt: t.remindedAt } : {}),
    ...(t.escalatedAt ? { escalatedAt: t.escalatedAt } : {}),
    openedAt: t.openedAt,
    ...(t.closedAt ? { closedAt: t.closedAt } : {}),
  };
}
