/**
 * v1, frozen (see invoice-v1.ts). The invoice's routing rules as a plain, deterministic state machine. The workflow feeds it
 * actions and persists its snapshots; it has no Temporal or I/O dependency, so unit tests drive
 * it directly.
 */
import type {
  ActionResult,
  ApprovePayload,
  DelegatePayload,
  ExceptionsReviewPayload,
  HistoryEntry,
  InvoiceState,
  NotMinePayload,
  ReassignPayload,
  RejectPayload,
  Refusal,
  ResolveExceptionPayload,
  RestartPayload,
  RowSignatures,
  Stage,
  TaskMode,
  TaskView,
} from '../definitions';
import type { DelegateLookup, InvoiceContext } from './definitions-v1';

export type Action =
  | { kind: 'approve'; payload: ApprovePayload }
  | { kind: 'reject'; payload: RejectPayload }
  | { kind: 'delegate'; payload: DelegatePayload; lookup?: DelegateLookup }
  | { kind: 'notMine'; payload: NotMinePayload }
  | { kind: 'exceptionsReview'; payload: ExceptionsReviewPayload }
  | { kind: 'resolveException'; payload: ResolveExceptionPayload }
  | { kind: 'restart'; payload: RestartPayload }
  | { kind: 'reassign'; payload: ReassignPayload; assignees?: string[] };

const CLOSED_STAGES: readonly Stage[] = ['payment', 'posted', 'cancelled'];
const ADMIN_ACTIONS: readonly Action['kind'][] = ['restart', 'reassign'];

interface ProcessData {
  stage: Stage;
  step: number;
  seq: number;
  taskCount: number;
  codedBy?: string;
  journalEntryId?: string;
  returnTo?: { stage: Stage; step: number };
  tasks: TaskView[];
  rows: RowSignatures[];
  history: HistoryEntry[];
  /** Approval rights added by delegation, per step. */
  extraSignable: Record<string, Record<string, string[]>>;
}

export class InvoiceProcess {
  private d: ProcessData;

  constructor(
    private readonly workflowId: string,
    private readonly ctx: InvoiceContext,
    private readonly now: () => Date,
    data?: ProcessData,
  ) {
    this.d = data ?? {
      stage: 'new',
      step: -1,
      seq: 0,
      taskCount: 0,
      tasks: [],
      rows: ctx.rows.map((r) => ({ rowId: r.id, ...(r.approvedBy ? { approvedBy: r.approvedBy, approvedAt: now().toISOString() } : {}) })),
      history: [],
      extraSignable: {},
    };
  }

  /** For continue-as-new: everything needed to pick up where this run stopped. */
  toJSON(): ProcessData {
    return structuredCloneData(this.d);
  }

  static restore(workflowId: string, ctx: InvoiceContext, now: () => Date, data: unknown): InvoiceProcess {
    return new InvoiceProcess(workflowId, ctx, now, data as ProcessData);
  }

  /** Registration: the invoice waits in `new` as a task of the clerks. */
  start(): void {
    const agreement = this.ctx.agreement;
    if (agreement && !this.ctx.codingProblem) {
      this.record('system', 'agreement', 'system', `Agreement invoice (agreement ${agreement.id}): coded and signed by the agreement`);
      if (agreement.touchless) {
        this.d.stage = 'payment';
        this.record('system', 'route', 'system', 'Touchless agreement invoice; straight to final posting');
        return;
      }
      const step = this.ctx.steps.findIndex((s) => s.kind === agreement.stage);
      this.advanceTo(step >= 0 ? step : 0);
      return;
    }
    this.openTask_('new', -1, this.ctx.clerks, 'any');
    this.record('system', 'received', 'system', 'Invoice received; waiting for registration by a clerk');
    if (this.ctx.codingProblem) this.record('system', 'coding', 'system', this.ctx.codingProblem);
  }

  /** Grows with every persisted change. */
  get version(): number {
    return this.d.seq;
  }

  get currentStage(): Stage {
    return this.d.stage;
  }

  get openTask(): TaskView | undefined {
    return this.d.tasks.find((t) => t.state === 'open');
  }

  get openAssignees(): string[] {
    return [...new Set(this.d.tasks.filter((t) => t.state === 'open').flatMap((t) => t.assignees))].sort();
  }

  /** The flow step of the open task, for its reminder and escalation durations. */
  get currentStep(): InvoiceContext['steps'][number] | undefined {
    return this.d.step >= 0 ? this.ctx.steps[this.d.step] : undefined;
  }

  /** History entries the process holds (older ones were handed over at continue-as-new). */
  get historyLength(): number {
    return this.d.history.length;
  }

  /** Why an action cannot be taken now, or undefined when it can. */
  check(action: Action): Refusal | undefined {
    const { by } = action.payload;
    if (typeof by !== 'string' || by.length === 0) return refusal('invalid_payload', '`by` (the acting user id) is required');
    if (CLOSED_STAGES.includes(this.d.stage)) {
      return refusal('finished', `The invoice is already in ${this.d.stage}; nothing is left to act on`);
    }
    if (ADMIN_ACTIONS.includes(action.kind)) return this.checkAdmin(action);

    const task = this.openTask;
    if (!task) return refusal('no_open_task', `There is no open task on this invoice in ${this.d.stage}`);
    if (!task.assignees.includes(by)) {
      return refusal(
        'not_assignee',
        `This is not your task: the ${this.d.stage} task is assigned to ${task.assignees.join(', ') || 'nobody'}`,
      );
    }
    if (task.actedBy.includes(by)) return refusal('already_acted', 'You have already acted on this task');

    switch (action.kind) {
      case 'reject':
        if (!nonEmpty(action.payload.reason)) return refusal('invalid_payload', 'A rejection needs a reason');
        if (this.d.stage === 'rejected' || this.d.stage === 'exceptions_review') {
          return refusal('wrong_stage', `An invoice in ${this.d.stage} cannot be rejected`);
        }
        return undefined;
      case 'delegate': {
        if (!nonEmpty(action.payload.to)) return refusal('invalid_payload', 'Say who to delegate to (`to`)');
        if (action.payload.to === by) return refusal('invalid_payload', 'You cannot delegate a task to yourself');
        if (task.assignees.includes(action.payload.to)) return refusal('invalid_payload', `${action.payload.to} is already on this task`);
        if (action.lookup && !action.lookup.found)
          return refusal('unknown_user', action.lookup.reason ?? `No user ${action.payload.to} can take this task`);
        if (action.lookup && this.d.stage === 'approval' && action.lookup.signable.length === 0) {
          return refusal('no_approval_rights', `${action.payload.to} has no approval rights on this invoice`);
        }
        return undefined;
      }
      case 'notMine':
        if (!task.shared) return refusal('not_shared', 'Not mine is only for a task shared by several users; delegate or reject instead');
        return undefined;
      case 'exceptionsReview':
        if (!nonEmpty(action.payload.message)) return refusal('invalid_payload', 'Exceptions review needs a message for the clerks');
        if (this.d.stage === 'exceptions_review' || this.d.stage === 'rejected') {
          return refusal('wrong_stage', `An invoice in ${this.d.stage} cannot be sent to exceptions review`);
        }
        return undefined;
      case 'resolveException':
        if (this.d.stage !== 'exceptions_review') return refusal('wrong_stage', 'The invoice is not in exceptions review');
        return undefined;
      case 'approve':
        return this.checkApprove(task, by);
    }
    return undefined;
  }

  /** Applies an action that {@link check} accepted. */
  apply(action: Action): ActionResult {
    const from = this.d.stage;
    const { by } = action.payload;
    switch (action.kind) {
      case 'reject': {
        this.closeTask(this.openTask!, by, 'reject');
        this.d.stage = 'rejected';
        this.d.step = -1;
        this.openTask_('rejected', -1, this.ctx.clerks, 'any');
        this.record(by, 'reject', 'done', `Rejected in ${from}: ${action.payload.reason}`);
        return this.result(from, 'Rejected; the clerks can correct and resubmit it');
      }
      case 'delegate': {
        const task = this.openTask!;
        const to = action.payload.to;
        task.assignees = task.assignees.map((a) => (a === by ? to : a));
        if (action.lookup && this.d.step >= 0) {
          const rights = (this.d.extraSignable[String(this.d.step)] ??= {});
          rights[to] = action.lookup.signable;
        }
        this.record(by, 'delegate', 'done', `Delegated the ${from} task to ${to}${suffix(action.payload.comment)}`);
        return this.result(from, `Delegated to ${to}`);
      }
      case 'notMine': {
        const task = this.openTask!;
        task.assignees = task.assignees.filter((a) => a !== by);
        this.record(by, 'notMine', 'done', `Left the shared ${from} task (not mine)`);
        if (task.assignees.length === 0) {
          task.assignees = [...this.ctx.admins];
          this.record('system', 'route', 'system', 'The last assignee left the task; it goes to the admins');
        }
        return this.result(from, 'Removed from the task');
      }
      case 'exceptionsReview': {
        this.closeTask(this.openTask!, by, 'exceptionsReview');
        this.d.returnTo = { stage: from, step: this.d.step };
        this.d.stage = 'exceptions_review';
        this.openTask_('exceptions_review', this.d.step, this.ctx.clerks, 'any', action.payload.message);
        this.record(by, 'exceptionsReview', 'done', `Sent to exceptions review from ${from}: ${action.payload.message}`);
        return this.result(from, 'Sent to exceptions review');
      }
      case 'resolveException': {
        this.closeTask(this.openTask!, by, 'resolveException');
        const back = this.d.returnTo ?? { stage: 'new' as Stage, step: -1 };
        delete this.d.returnTo;
        this.record(by, 'resolveException', 'done', `Exception resolved; back to ${back.stage}${suffix(action.payload.comment)}`);
        this.reopen(back.stage, back.step);
        return this.result(from, `Back to ${this.d.stage}`);
      }
      case 'restart':
        return this.restart(action.payload, from);
      case 'reassign':
        return this.reassign(action, from);
      case 'approve':
        return this.approve(by, action.payload.comment, from);
    }
  }

  /** Records a refused action in the history, changing nothing else. */
  recordRefusal(action: Action, why: Refusal, source: 'update' | 'signal'): void {
    const actor = typeof action.payload.by === 'string' && action.payload.by ? action.payload.by : 'unknown';
    this.record(actor, action.kind, 'refused', `${capitalise(action.kind)} by ${source} refused: ${why.message}`);
  }

  /** A reminder e-mail went out for the open task. */
  reminded(taskId: string, to: string[]): void {
    const task = this.d.tasks.find((t) => t.id === taskId);
    if (!task) return;
    task.remindedAt = this.now().toISOString();
    this.record('system', 'reminder', 'system', `Reminder sent to ${to.join(', ')}`);
  }

  /** The open task waited too long: the escalation assignees join it. */
  escalated(taskId: string): string[] {
    const task = this.d.tasks.find((t) => t.id === taskId);
    const extra = (this.currentStep?.escalateTo ?? this.ctx.admins).filter((u) => !task?.assignees.includes(u));
    if (!task) return [];
    task.escalatedAt = this.now().toISOString();
    task.assignees = [...task.assignees, ...extra];
    this.record('system', 'escalation', 'system', `Escalated after waiting too long; added ${extra.join(', ') || 'nobody new'}`);
    return extra;
  }

  /** Final posting wrote the journal. */
  posted(journalEntryId: string): void {
    this.d.stage = 'posted';
    this.d.journalEntryId = journalEntryId;
    this.record('system', 'post', 'system', `Posted as journal entry ${journalEntryId}`);
  }

  /** Final posting refused the invoice: back to the clerks with the reason. */
  postingFailed(reason: string): void {
    this.d.stage = 'new';
    this.d.step = -1;
    this.openTask_('new', -1, this.ctx.clerks, 'any');
    this.record('system', 'post', 'system', `Posting refused: ${reason}`);
  }

  /** Drops history already persisted, before continue-as-new. */
  trimHistory(): number {
    const dropped = this.d.history.length;
    this.d.history = [];
    return dropped;
  }

  /** The whole state, with `seq` increased so the projection can tell newer from older. */
  snapshot(): InvoiceState {
    this.d.seq += 1;
    return this.state();
  }

  /** The state as the query answers it. */
  state(): InvoiceState {
    const d = structuredCloneData(this.d);
    return {
      invoiceId: this.ctx.invoiceId,
      stage: d.stage,
      seq: d.seq,
      tasks: d.tasks,
      rows: d.rows,
      history: d.history,
      ...(d.journalEntryId ? { journalEntryId: d.journalEntryId } : {}),
    };
  }

  // ---- approve ----

  private checkApprove(task: TaskView, by: string): Refusal | undefined {
    switch (this.d.stage) {
      case 'new':
      case 'rejected':
        if (this.ctx.codingProblem) return refusal('coding_incomplete', this.ctx.codingProblem);
        return this.addresseeProblem(0);
      case 'exceptions_review':
        return refusal('wrong_stage', 'The invoice is in exceptions review: resolve the exception instead');
      case 'approval':
        if (by === this.ctx.registeredBy || by === this.d.codedBy) {
          return refusal('segregation_of_duties', 'You registered or coded this invoice, so you cannot approve it');
        }
        if (this.signableBy(by).length === 0) {
          return refusal(
            'no_approval_rights',
            'You have no approval rights on any coding row of this invoice that still needs your signature',
          );
        }
        return undefined;
      default:
        return task.mode === 'all' && task.actedBy.length + 1 < task.assignees.length ? undefined : this.addresseeProblem(this.d.step + 1);
    }
  }

  private approve(by: string, comment: string | undefined, from: Stage): ActionResult {
    const task = this.openTask!;
    switch (from) {
      case 'new':
      case 'rejected':
        if (from === 'rejected') this.clearSignatures('all');
        this.d.codedBy = by;
        this.closeTask(task, by, 'approve');
        this.record(by, 'approve', 'done', `${from === 'new' ? 'Registered' : 'Resubmitted'}${suffix(comment)}`);
        this.advanceTo(0);
        break;
      case 'approval':
        this.approveRows(task, by, comment);
        break;
      default: {
        if (from === 'review')
          this.sign(
            'review',
            this.d.rows.filter((r) => !r.reviewedBy),
            by,
          );
        const done = this.actOn(task, by, 'approve');
        this.record(by, 'approve', 'done', `${from === 'copy' ? 'Copy archived' : `${capitalise(from)} done`}${suffix(comment)}`);
        if (done) this.advanceTo(this.d.step + 1);
      }
    }
    return this.result(from, this.d.stage === from ? `Still in ${from}` : `Sent on to ${this.d.stage}`);
  }

  private approveRows(task: TaskView, by: string, comment: string | undefined): void {
    const signed = this.signableBy(by);
    for (const row of this.d.rows.filter((r) => signed.includes(r.rowId))) this.signApproval(row, by);
    const remaining = this.unapprovedRows();
    this.record(by, 'approve', 'done', `Approved ${signed.length} of ${this.d.rows.length} coding rows${suffix(comment)}`);
    if (task.mode === 'all' && task.actedBy.length + 1 < task.assignees.length) {
      task.actedBy.push(by);
      return;
    }
    this.closeTask(task, by, 'approve');
    if (remaining.length === 0) {
      this.advanceTo(this.d.step + 1);
      return;
    }
    const able = this.approversFor(remaining, [...task.actedBy]);
    if (able.length > 0) {
      this.openTask_('approval', this.d.step, able, this.currentStep?.mode ?? 'any');
      return;
    }
    this.openTask_('approval', this.d.step, this.ctx.admins, 'any');
    this.record(
      'system',
      'route',
      'system',
      `Nobody in the approval step may sign the remaining ${remaining.length} rows; sent to the admins`,
    );
  }

  /** Step assignees (and delegates) who may still sign one of the rows. */
  private approversFor(rows: RowSignatures[], exclude: string[]): string[] {
    const step = this.currentStep;
    if (!step) return [];
    const candidates = [...new Set([...step.assignees, ...Object.keys(this.d.extraSignable[String(this.d.step)] ?? {})])];
    return candidates.filter(
      (u) => !exclude.includes(u) && u !== this.ctx.registeredBy && u !== this.d.codedBy && this.signableBy(u, rows).length > 0,
    );
  }

  private required(): number {
    return this.ctx.requiredApprovals ?? 1;
  }

  private unapprovedRows(): RowSignatures[] {
    return this.d.rows.filter((r) => !r.approvedBy || (this.required() > 1 && !r.secondApprovedBy));
  }

  private signableBy(userId: string, among: RowSignatures[] = this.unapprovedRows()): string[] {
    const step = this.currentStep;
    const rights = [...(step?.signable[userId] ?? []), ...(this.d.extraSignable[String(this.d.step)]?.[userId] ?? [])];
    return among.filter((r) => rights.includes(r.rowId) && r.approvedBy !== userId).map((r) => r.rowId);
  }

  private signApproval(row: RowSignatures, by: string): void {
    const at = this.now().toISOString();
    if (!row.approvedBy) Object.assign(row, { approvedBy: by, approvedAt: at });
    else Object.assign(row, { secondApprovedBy: by, secondApprovedAt: at });
  }

  // ---- admin ----

  private checkAdmin(action: Action): Refusal | undefined {
    if (!this.ctx.admins.includes(action.payload.by)) return refusal('not_admin', `Only an admin may ${action.kind} an invoice`);
    const stage = action.kind === 'restart' || action.kind === 'reassign' ? action.payload.stage : undefined;
    if (stage !== undefined && !this.stageExists(stage)) {
      return refusal('wrong_stage', `The invoice's flow has no ${stage} stage; it has ${this.flowStages().join(', ')}`);
    }
    if (action.kind === 'reassign') {
      const p = action.payload;
      if (p.stage === undefined && p.to === undefined) return refusal('invalid_payload', 'Say where to reassign: `to` (people) or `stage`');
      const task = this.openTask;
      if (p.taskId !== undefined && task?.id !== p.taskId)
        return refusal('no_open_task', `Task ${p.taskId} is not the invoice's open task`);
      if (p.stage === undefined && !task) return refusal('no_open_task', 'There is no open task to reassign');
      if (action.assignees && action.assignees.length === 0) return refusal('no_addressee', 'Nobody active matches the new assignees');
    }
    return undefined;
  }

  private restart(p: RestartPayload, from: Stage): ActionResult {
    const stage = p.stage ?? 'new';
    const open = this.openTask;
    if (open) this.closeTask(open, p.by, 'restart');
    this.clearSignatures(stage === 'new' || stage === 'review' ? 'all' : stage === 'approval' ? 'approval' : 'none');
    if (stage === 'new') delete this.d.codedBy;
    this.record(p.by, 'restart', 'done', `Restarted from ${stage}${p.reason ? `: ${p.reason}` : ''}`);
    this.reopen(stage, this.stepOf(stage));
    return this.result(from, `Restarted from ${stage}`);
  }

  private reassign(action: Extract<Action, { kind: 'reassign' }>, from: Stage): ActionResult {
    const p = action.payload;
    const why = p.reason ? `: ${p.reason}` : '';
    if (p.stage !== undefined) {
      const open = this.openTask;
      if (open) this.closeTask(open, p.by, 'reassign');
      this.reopen(p.stage, this.stepOf(p.stage));
      this.record(p.by, 'reassign', 'done', `Moved from ${from} to ${p.stage}${why}`);
    }
    if (action.assignees) {
      const task = this.openTask!;
      task.assignees = [...action.assignees];
      this.record(p.by, 'reassign', 'done', `The ${task.stage} task is reassigned to ${action.assignees.join(', ')}${why}`);
    }
    return this.result(from, `Reassigned`);
  }

  private flowStages(): Stage[] {
    return ['new', ...new Set(this.ctx.steps.map((s) => s.kind as Stage))];
  }

  private stageExists(stage: Stage): boolean {
    return this.flowStages().includes(stage);
  }

  private stepOf(stage: Stage): number {
    return stage === 'new' ? -1 : this.ctx.steps.findIndex((s) => s.kind === stage);
  }

  /** Opens a fresh task for a stage, as if the invoice had just arrived there. */
  private reopen(stage: Stage, step: number): void {
    this.d.stage = stage;
    this.d.step = step;
    if (step < 0) {
      this.openTask_(stage === 'rejected' ? 'rejected' : 'new', -1, this.ctx.clerks, 'any');
      return;
    }
    const s = this.ctx.steps[step]!;
    const assignees = s.kind === 'approval' ? this.approversFor(this.unapprovedRows(), []) : s.assignees;
    this.openTask_(s.kind, step, assignees.length > 0 ? assignees : this.ctx.admins, s.mode);
  }

  // ---- internals ----

  private addresseeProblem(stepIndex: number): Refusal | undefined {
    const next = this.ctx.steps[stepIndex];
    if (next && next.assignees.length === 0) {
      return refusal('no_addressee', `Nobody is addressed for the next step (${next.kind}); the flow template names no active user`);
    }
    return undefined;
  }

  private advanceTo(stepIndex: number): void {
    const next = this.ctx.steps[stepIndex];
    this.d.step = stepIndex;
    if (!next) {
      this.d.stage = 'payment';
      this.record('system', 'route', 'system', 'Every row is approved; waiting for final posting');
      return;
    }
    this.d.stage = next.kind;
    // An approval step whose rows are all signed already (an agreement's signature) only needs confirming.
    const assignees =
      next.kind === 'approval' && this.unapprovedRows().length > 0 ? this.approversFor(this.unapprovedRows(), []) : next.assignees;
    if (assignees.length === 0) {
      this.record('system', 'route', 'system', `Nobody in the ${next.kind} step may act on this invoice; sent to the admins`);
    }
    this.openTask_(next.kind, stepIndex, assignees.length > 0 ? assignees : this.ctx.admins, next.mode);
  }

  /** Marks `by` as having acted; returns true when the task is complete. */
  private actOn(task: TaskView, by: string, action: string): boolean {
    if (task.mode === 'all' && task.actedBy.length + 1 < task.assignees.length) {
      task.actedBy.push(by);
      return false;
    }
    this.closeTask(task, by, action);
    return true;
  }

  private openTask_(stage: Stage, step: number, assignees: string[], mode: TaskMode, message?: string): void {
    this.d.taskCount += 1;
    this.d.tasks.push({
      id: `${this.workflowId}/${this.d.taskCount}`,
      stage,
      step,
      mode,
      state: 'open',
      assignees: [...assignees],
      actedBy: [],
      ...(assignees.length > 1 ? { shared: true } : {}),
      openedAt: this.now().toISOString(),
      ...(message ? { message } : {}),
    });
  }

  private closeTask(task: TaskView, by: string, action: string): void {
    task.actedBy.push(by);
    task.state = 'done';
    task.action = action;
    task.closedAt = this.now().toISOString();
  }

  private sign(kind: 'review', rows: RowSignatures[], by: string): void {
    const at = this.now().toISOString();
    for (const row of rows) Object.assign(row, { reviewedBy: by, reviewedAt: at });
  }

  private clearSignatures(which: 'all' | 'approval' | 'none'): void {
    if (which === 'none') return;
    for (const row of this.d.rows) {
      if (which === 'all') {
        delete row.reviewedBy;
        delete row.reviewedAt;
      }
      delete row.approvedBy;
      delete row.approvedAt;
      delete row.secondApprovedBy;
      delete row.secondApprovedAt;
    }
  }

  private record(actor: string, action: string, outcome: HistoryEntry['outcome'], message: string): void {
    this.d.history.push({ at: this.now().toISOString(), actor, action, stage: this.d.stage, outcome, message });
  }

  private result(from: Stage, message: string): ActionResult {
    return { stage: this.d.stage, moved: this.d.stage !== from, message };
  }
}

function refusal(code: Refusal['code'], message: string): Refusal {
  return { code, message };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function nonEmpty(s: unknown): s is string {
  return typeof s === 'string' && s.trim().length > 0;
}

function suffix(comment: string | undefined): string {
  return comment ? ` (${comment})` : '';
}

/** A deep copy through JSON: the state is plain data, and the query must not share it. */
function structuredCloneData<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
