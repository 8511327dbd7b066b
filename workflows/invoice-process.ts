/**
 * The invoice's routing rules as a plain, deterministic state machine. The workflow feeds it
 * actions and persists its snapshots; it has no Temporal or I/O dependency, so unit tests drive
 * it directly.
 */
import type {
  ActionResult,
  ApprovePayload,
  HistoryEntry,
  InvoiceContext,
  InvoiceState,
  RejectPayload,
  Refusal,
  RowSignatures,
  Stage,
  TaskMode,
  TaskView,
} from './definitions';

export type Action = { kind: 'approve'; payload: ApprovePayload } | { kind: 'reject'; payload: RejectPayload };

const CLOSED_STAGES: readonly Stage[] = ['payment', 'posted', 'cancelled'];

export class InvoiceProcess {
  private stage: Stage = 'new';
  /** Index of the current flow step; -1 while the invoice is with the clerks. */
  private step = -1;
  private seq = 0;
  private taskCount = 0;
  private codedBy: string | undefined;
  private journalEntryId: string | undefined;
  private readonly tasks: TaskView[] = [];
  private readonly rows: RowSignatures[];
  private readonly history: HistoryEntry[] = [];

  constructor(
    private readonly workflowId: string,
    private readonly ctx: InvoiceContext,
    private readonly now: () => Date,
  ) {
    this.rows = ctx.rows.map((r) => ({ rowId: r.id }));
  }

  /** Registration: the invoice waits in `new` as a task of the clerks. */
  start(): void {
    this.openTask('new', -1, this.ctx.clerks, 'any');
    this.record('system', 'received', 'system', 'Invoice received; waiting for registration by a clerk');
    if (this.ctx.codingProblem) this.record('system', 'coding', 'system', this.ctx.codingProblem);
  }

  get currentStage(): Stage {
    return this.stage;
  }

  get openAssignees(): string[] {
    return [...new Set(this.tasks.filter((t) => t.state === 'open').flatMap((t) => t.assignees))].sort();
  }

  /** Why an action cannot be taken now, or undefined when it can. */
  check(action: Action): Refusal | undefined {
    const { by } = action.payload;
    if (typeof by !== 'string' || by.length === 0) return refusal('invalid_payload', '`by` (the acting user id) is required');
    if (CLOSED_STAGES.includes(this.stage)) {
      return refusal('finished', `The invoice is already in ${this.stage}; nothing is left to act on`);
    }
    const task = this.openTask_();
    if (!task) return refusal('no_open_task', `There is no open task on this invoice in ${this.stage}`);
    if (!task.assignees.includes(by)) {
      return refusal(
        'not_assignee',
        `This is not your task: the ${this.stage} task is assigned to ${task.assignees.join(', ') || 'nobody'}`,
      );
    }
    if (task.actedBy.includes(by)) return refusal('already_acted', 'You have already acted on this task');

    if (action.kind === 'reject') {
      if (typeof action.payload.reason !== 'string' || action.payload.reason.trim() === '') {
        return refusal('invalid_payload', 'A rejection needs a reason');
      }
      if (this.stage === 'rejected') return refusal('wrong_stage', 'The invoice is already rejected');
      return undefined;
    }

    switch (this.stage) {
      case 'new':
      case 'rejected':
        if (this.ctx.codingProblem) return refusal('coding_incomplete', this.ctx.codingProblem);
        return this.addresseeProblem(0);
      case 'approval': {
        if (by === this.ctx.registeredBy || by === this.codedBy) {
          return refusal('segregation_of_duties', 'You registered or coded this invoice, so you cannot approve it');
        }
        if (this.signableBy(by).length === 0) {
          return refusal('no_approval_rights', 'You have no approval rights on any unsigned coding row of this invoice');
        }
        return undefined;
      }
      default:
        return task.mode === 'all' && task.actedBy.length + 1 < task.assignees.length ? undefined : this.addresseeProblem(this.step + 1);
    }
  }

  /** Applies an action that {@link check} accepted. */
  apply(action: Action): ActionResult {
    const from = this.stage;
    const { by } = action.payload;
    const task = this.openTask_()!;
    if (action.kind === 'reject') {
      this.closeTask(task, by, 'reject');
      this.stage = 'rejected';
      this.step = -1;
      this.openTask('rejected', -1, this.ctx.clerks, 'any');
      this.record(by, 'reject', 'done', `Rejected in ${from}: ${action.payload.reason}`);
      return this.result(from, 'Rejected; the clerks can correct and resubmit it');
    }

    const comment = action.payload.comment ? ` (${action.payload.comment})` : '';
    switch (from) {
      case 'new':
      case 'rejected':
        if (from === 'rejected') this.clearSignatures();
        this.codedBy = by;
        this.closeTask(task, by, 'approve');
        this.record(by, 'approve', 'done', `${from === 'new' ? 'Registered' : 'Resubmitted'}${comment}`);
        this.advanceTo(0);
        break;
      case 'approval':
        this.approve(task, by, comment);
        break;
      default: {
        if (from === 'review')
          this.sign(
            'review',
            this.rows.filter((r) => !r.reviewedBy),
            by,
          );
        const done = this.actOn(task, by, 'approve');
        this.record(by, 'approve', 'done', `${capitalise(from)} done${comment}`);
        if (done) this.advanceTo(this.step + 1);
      }
    }
    return this.result(from, this.stage === from ? `Still in ${from}` : `Sent on to ${this.stage}`);
  }

  /** Records a refused action in the history, changing nothing else. */
  recordRefusal(action: Action, why: Refusal, source: 'update' | 'signal'): void {
    const actor = typeof action.payload.by === 'string' && action.payload.by ? action.payload.by : 'unknown';
    this.record(actor, action.kind, 'refused', `${capitalise(action.kind)} by ${source} refused: ${why.message}`);
  }

  /** Final posting wrote the journal. */
  posted(journalEntryId: string): void {
    this.stage = 'posted';
    this.journalEntryId = journalEntryId;
    this.record('system', 'post', 'system', `Posted as journal entry ${journalEntryId}`);
  }

  /** Final posting refused the invoice: back to the clerks with the reason. */
  postingFailed(reason: string): void {
    this.stage = 'new';
    this.step = -1;
    this.openTask('new', -1, this.ctx.clerks, 'any');
    this.record('system', 'post', 'system', `Posting refused: ${reason}`);
  }

  /** The whole state, with `seq` increased so the projection can tell newer from older. */
  snapshot(): InvoiceState {
    this.seq += 1;
    return this.state();
  }

  /** The state as the query answers it. */
  state(): InvoiceState {
    return {
      invoiceId: this.ctx.invoiceId,
      stage: this.stage,
      seq: this.seq,
      tasks: this.tasks.map((t) => ({ ...t, assignees: [...t.assignees], actedBy: [...t.actedBy] })),
      rows: this.rows.map((r) => ({ ...r })),
      history: [...this.history],
      ...(this.journalEntryId ? { journalEntryId: this.journalEntryId } : {}),
    };
  }

  // ---- internals ----

  private approve(task: TaskView, by: string, comment: string): void {
    const signed = this.signableBy(by);
    this.sign(
      'approval',
      this.rows.filter((r) => signed.includes(r.rowId)),
      by,
    );
    const remaining = this.rows.filter((r) => !r.approvedBy);
    this.record(by, 'approve', 'done', `Approved ${signed.length} of ${this.rows.length} coding rows${comment}`);
    const waitingForAll = task.mode === 'all' && task.actedBy.length + 1 < task.assignees.length;
    if (waitingForAll) {
      task.actedBy.push(by);
      return;
    }
    this.closeTask(task, by, 'approve');
    if (remaining.length === 0) {
      this.advanceTo(this.step + 1);
      return;
    }
    const current = this.ctx.steps[this.step]!;
    const able = current.assignees.filter(
      (u) => !task.actedBy.includes(u) && (current.signable[u] ?? []).some((id) => remaining.some((r) => r.rowId === id)),
    );
    if (able.length > 0) {
      this.openTask('approval', this.step, able, current.mode);
      return;
    }
    this.openTask('approval', this.step, this.ctx.admins, 'any');
    this.record(
      'system',
      'route',
      'system',
      `Nobody in the approval step may sign the remaining ${remaining.length} rows; sent to the admins`,
    );
  }

  private signableBy(userId: string): string[] {
    const step = this.ctx.steps[this.step];
    const rights = step?.signable[userId] ?? [];
    return this.rows.filter((r) => !r.approvedBy && rights.includes(r.rowId)).map((r) => r.rowId);
  }

  private addresseeProblem(stepIndex: number): Refusal | undefined {
    const next = this.ctx.steps[stepIndex];
    if (next && next.assignees.length === 0) {
      return refusal('no_addressee', `Nobody is addressed for the next step (${next.kind}); the flow template names no active user`);
    }
    return undefined;
  }

  private advanceTo(stepIndex: number): void {
    const next = this.ctx.steps[stepIndex];
    this.step = stepIndex;
    if (!next) {
      this.stage = 'payment';
      this.record('system', 'route', 'system', 'Every row is approved; waiting for final posting');
      return;
    }
    this.stage = next.kind;
    this.openTask(next.kind, stepIndex, next.assignees, next.mode);
  }

  /** Marks `by` as having acted; returns true when the task is complete. */
  private actOn(task: TaskView, by: string, action: 'approve' | 'reject'): boolean {
    if (task.mode === 'all' && task.actedBy.length + 1 < task.assignees.length) {
      task.actedBy.push(by);
      return false;
    }
    this.closeTask(task, by, action);
    return true;
  }

  private openTask(stage: Stage, step: number, assignees: string[], mode: TaskMode): void {
    this.taskCount += 1;
    this.tasks.push({
      id: `${this.workflowId}/${this.taskCount}`,
      stage,
      step,
      mode,
      state: 'open',
      assignees: [...assignees],
      actedBy: [],
      openedAt: this.now().toISOString(),
    });
  }

  private closeTask(task: TaskView, by: string, action: 'approve' | 'reject'): void {
    task.actedBy.push(by);
    task.state = 'done';
    task.action = action;
    task.closedAt = this.now().toISOString();
  }

  private openTask_(): TaskView | undefined {
    return this.tasks.find((t) => t.state === 'open');
  }

  private sign(kind: 'review' | 'approval', rows: RowSignatures[], by: string): void {
    const at = this.now().toISOString();
    for (const row of rows) {
      if (kind === 'review') Object.assign(row, { reviewedBy: by, reviewedAt: at });
      else Object.assign(row, { approvedBy: by, approvedAt: at });
    }
  }

  private clearSignatures(): void {
    for (const row of this.rows) {
      delete row.reviewedBy;
      delete row.reviewedAt;
      delete row.approvedBy;
      delete row.approvedAt;
    }
  }

  private record(actor: string, action: string, outcome: HistoryEntry['outcome'], message: string): void {
    this.history.push({ at: this.now().toISOString(), actor, action, stage: this.stage, outcome, message });
  }

  private result(from: Stage, message: string): ActionResult {
    return { stage: this.stage, moved: this.stage !== from, message };
  }
}

function refusal(code: Refusal['code'], message: string): Refusal {
  return { code, message };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
