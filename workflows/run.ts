/**
 * One run of an invoice workflow: the process, the lock that lets one change happen at a time
 * (handlers, timers and posting take turns), the lookups and assignments the process asks for, and
 * the projection. The workflow function in invoice.ts tells the story with these pieces.
 */
import { ApplicationFailure, condition, continueAsNew, allHandlersFinished, patched, workflowInfo } from '@temporalio/workflow';
import { activities, attempt, localActivities, type InvoiceActivities } from './calls';
import {
  ACTION_REFUSED,
  type ActionName,
  type ActionResult,
  type InvoiceWorkflowInput,
  type InvoiceWorkflowResult,
  type CodingChangedPayload,
  type Refusal,
} from './definitions';
import type { CodingWritten } from '../activities/replace-coding';
import { parsePayload } from './payload-check';
import { blockedOnPeople, InvoiceProcess, type Action, type LookupNeeds, type Lookups } from './process';
import { Projection } from './projection';
import { settle, settleCalls, SETTLE_ACTIVITIES } from './settle';

const clock = { now: () => new Date() };

/** Patch marker of automatic review (SPEC 2.3): invoices started before it do not review. */
export const AUTOMATIC_REVIEW_PATCH = 'automatic-review';
/**
 * Patch marker: posting waits until the state (with its approval signatures) is written, and a
 * posted invoice's workflow ends only once its posted state is written. Before it, an unwritten
 * approval sent the invoice to exceptions review, and a failed last write left it shown in payment.
 */
export const WRITE_BEFORE_POSTING_PATCH = 'write-before-posting';
/**
 * Patch marker: activities run as local activities, and the search attributes are upserted once
 * per workflow task, when the run waits, instead of once per written state (see calls.ts and
 * Projection.flush). A run that called an activity or upserted before it keeps the old ways to its
 * end; one that had only waited takes the new ones from its next change.
 */
export const LOCAL_ACTIVITIES_PATCH = 'local-activities';

export class InvoiceRun {
  process: InvoiceProcess | undefined;
  readonly projection: Projection;
  private busy = false;
  /** How many times in a row the blocked work has failed (for the back-off). */
  failures = 0;

  private localDecided: boolean | undefined;

  constructor(readonly input: InvoiceWorkflowInput) {
    this.projection = new Projection(input.companyId, input.resume?.historyOffset ?? 0, this);
  }

  /**
   * Whether this run calls local activities and upserts once per workflow task (the
   * `local-activities` patch). Decided at first use, so the patch marker shares the workflow task
   * of the first calls (one billed action for all its markers) and a run that only waits adds none.
   */
  get local(): boolean {
    this.localDecided ??= patched(LOCAL_ACTIVITIES_PATCH);
    return this.localDecided;
  }

  get calls(): InvoiceActivities {
    return this.local ? localActivities : activities;
  }

  get p(): InvoiceProcess {
    if (!this.process) throw new Error('the invoice is not prepared yet');
    return this.process;
  }

  /** Runs `fn` when no other change is under way. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // Several waiters wake in the same activation: each must look again before taking the turn.
    while (this.busy) await condition(() => !this.busy);
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  /** Starts the process from the database (coding, agreement, route), or resumes the previous run's or the starter's. */
  async prepareOrResume(): Promise<'ready' | 'gone'> {
    const { resume, invoiceId } = this.input;
    if (resume) {
      this.process = InvoiceProcess.restore(resume.process, clock);
      this.projection.assume(this.process, resume.firstStep ? blockedOnPeople(this.process) : '');
      // The starter's search attributes show the state already; the current details are the workflow's.
      if (resume.firstStep) this.projection.show(this.process);
      return 'ready';
    }
    // Automatic review came after the first v2 invoices: theirs never review (their histories have no marker).
    const reviews = patched(AUTOMATIC_REVIEW_PATCH);
    for (;;) {
      const prepared = await attempt(() => this.calls.prepareRouting({ invoiceId }));
      if (prepared.ok) {
        this.process = InvoiceProcess.start(invoiceId, workflowInfo().workflowId, prepared.value, clock, { reviews });
        break;
      }
      if (prepared.deterministic && /does not exist/.test(prepared.reason)) return 'gone';
      await this.backOff('prepareRouting');
    }
    await this.exclusive(() => this.settleAndPersist());
    return 'ready';
  }

  /** Resolves the assignments the process waits for, then writes the state; false when something is still failing. */
  async settleAndPersist(): Promise<boolean> {
    const settled = await this.settle();
    const persisted = await this.projection.persist(this.p);
    if (settled && persisted) this.failures = 0;
    return settled && persisted;
  }

  /** Review, obligation and assignments the process waits for (settle.ts), through the activities. */
  private async settle(): Promise<boolean> {
    const blocked = await settle(this.p, this.input, settleCalls(this.calls, attempt));
    if (blocked) {
      this.projection.blockedOn = blocked;
      return false;
    }
    if (SETTLE_ACTIVITIES.includes(this.projection.blockedOn)) this.projection.blockedOn = '';
    return true;
  }

  /** Something keeps failing: say so in the Web UI and wait before the next try. */
  async backOff(blockedOn: string): Promise<void> {
    this.failures += 1;
    this.projection.blockedOn = blockedOn;
    if (this.process) this.projection.show(this.process);
    this.projection.flush();
    await condition(() => false, Math.min(10_000 * 2 ** (this.failures - 1), 600_000));
  }

  /** Whether work failed for now and waits to be tried again: a write, or an assignment. */
  get needsRetry(): boolean {
    // While a change is under way it settles and writes its own state; only leftovers need a retry.
    const p = this.p;
    const work =
      p.pendingAssignment() !== undefined ||
      p.reviewDue !== undefined ||
      (p.obligationHeld && (p.stage === 'rejected' || p.stage === 'cancelled'));
    return !this.busy && (this.projection.dirty || work);
  }

  /** Waits (back-off) and tries the failed work again; the posting is retried by the main loop. */
  async retryAfterBackOff(): Promise<void> {
    await this.backOff(this.projection.blockedOn || 'recordState');
    await this.exclusive(() => this.settleAndPersist());
  }

  /** The one path of every action, whether it came as an Update (API) or a Signal (Web UI, CLI). */
  async act(kind: ActionName, raw: unknown, via: 'update' | 'signal'): Promise<ActionResult> {
    await condition(() => this.process !== undefined);
    return this.exclusive(async () => {
      const p = this.p;
      const parsed = parsePayload(kind, raw);
      if (!parsed.ok) {
        return this.refuse({ kind, payload: (raw ?? {}) as { by?: unknown } }, via, {
          code: 'invalid_payload',
          message: `The ${kind} payload is not valid: ${parsed.problems}`,
        });
      }
      const action = { kind, payload: parsed.payload, via, lookups: {} } as Action;
      const looked = await this.lookup(p.needs(action));
      if ('code' in looked) return this.refuse(action, via, looked);
      action.lookups = looked;
      const refusal = p.check(action);
      if (refusal) return this.refuse(action, via, refusal);
      if (action.kind === 'codingChanged') {
        const written = await this.writeCoding(action.payload);
        if ('code' in written) return this.refuse(action, via, written);
        action.lookups.coding = written;
      }
      const from = p.stage;
      const message = p.apply(action);
      await this.settleAndPersist();
      return p.result(from, message);
    });
  }

  /** Refuses an Update before it reaches history, where that needs no lookup; `act` checks again. */
  validate(kind: ActionName, raw: unknown): void {
    const parsed = parsePayload(kind, raw);
    if (!parsed.ok) throw refused({ code: 'invalid_payload', message: `The ${kind} payload is not valid: ${parsed.problems}` });
    const p = this.process;
    if (!p || p.pendingAssignment()) return;
    const action = { kind, payload: parsed.payload, via: 'update', lookups: {} } as Action;
    if (Object.keys(p.needs(action)).length > 0) return;
    const refusal = p.check(action);
    if (refusal) throw refused(refusal);
  }

  /** A refused action is written to the audit trail; an Update's caller gets the refusal, a Signal's is logged. */
  private async refuse(action: { kind: string; payload: { by?: unknown } }, via: 'update' | 'signal', why: Refusal): Promise<ActionResult> {
    const p = this.p;
    p.recordRefusal(action, why, via);
    await this.projection.persist(p);
    // When: an Update's outcome is kept under its id, so a caller retrying a "not ready" with the same id can tell it is an old one.
    if (via === 'update') throw refused({ ...why, at: clock.now().toISOString() });
    return p.result(p.stage, why.message);
  }

  /** What an action needs from current data, through the activities; a refusal when a lookup failed. */
  private async lookup(needs: LookupNeeds): Promise<Lookups | Refusal> {
    const { invoiceId, companyId } = this.input;
    const lookups: Lookups = {};
    const failed = (what: string, reason: string): Refusal => ({
      code: 'not_ready',
      message: `Could not look up ${what} just now (${reason}); nothing was changed, try again`,
    });
    if (needs.actor !== undefined) {
      const userId = needs.actor;
      const r = await attempt(() => this.calls.checkActor({ companyId, userId }));
      if (!r.ok) return failed('who is acting', r.reason);
      lookups.actor = r.value;
    }
    if (needs.delegate) {
      const d = needs.delegate;
      const r = await attempt(() => this.calls.checkDelegate({ companyId, userId: d.userId, request: d.request }));
      if (!r.ok) return failed('the delegate', r.reason);
      lookups.delegate = r.value;
    }
    if (needs.route) {
      const r = await attempt(() => this.calls.loadRoute({ invoiceId }));
      if (!r.ok) return failed('the flow', r.reason);
      lookups.route = r.value;
    }
    if (needs.assignment) {
      const request = needs.assignment;
      const r = await attempt(() => this.calls.resolveAssignment({ companyId, request }));
      if (!r.ok) return failed('the new assignees', r.reason);
      lookups.assignment = r.value;
    }
    return lookups;
  }

  /** A supplier's answer was stored (inbound mail): the process takes it in. */
  async supplierReplied(messageId: string): Promise<ActionResult> {
    await condition(() => this.process !== undefined);
    return this.exclusive(async () => {
      const p = this.p;
      const { invoiceId } = this.input;
      const found = await attempt(() => this.calls.loadMessage({ invoiceId, messageId }));
      if (!found.ok) throw refused({ code: found.deterministic ? 'invalid_payload' : 'not_ready', message: found.reason });
      const from = p.stage;
      const message = p.supplierReplied(found.value);
      await this.settleAndPersist();
      return p.result(from, message);
    });
  }

  /** Writes a coding change (checked already) against the version the editor saw. */
  private async writeCoding(payload: CodingChangedPayload): Promise<CodingWritten | Refusal> {
    const { invoiceId } = this.input;
    const { by, version, rows } = payload;
    const written = await attempt(() => this.calls.replaceCoding({ invoiceId, by, version, rows }));
    if (written.ok) return written.value;
    if (written.type === 'StaleVersion') return { code: 'stale_version', message: written.reason };
    if (written.type === 'CodingInvalid') return { code: 'coding_invalid', message: written.reason };
    return { code: 'not_ready', message: `The coding could not be saved just now (${written.reason}); nothing was changed, try again` };
  }

  /**
   * Final posting, exactly once (the journal is unique per invoice): `posted` once posted and
   * recorded, `refused` when it went to exceptions review instead, `retry` when it failed for now,
   * `unwritten` when the state before or after it could not be written (the main loop writes it).
   */
  async post(): Promise<'posted' | 'refused' | 'retry' | 'unwritten'> {
    return this.exclusive(async () => {
      const p = this.p;
      if (p.stage !== 'payment') return p.stage === 'posted' ? 'posted' : 'refused';
      // The change that approved it could not write its state (the signatures postInvoice checks): write it first.
      if (this.projection.dirty && patched(WRITE_BEFORE_POSTING_PATCH) && !(await this.settleAndPersist())) return 'unwritten';
      const posted = await attempt(() => this.calls.postInvoice({ invoiceId: this.input.invoiceId }));
      if (!posted.ok && !posted.deterministic) return 'retry';
      if (this.projection.blockedOn === 'postInvoice') this.projection.blockedOn = '';
      if (posted.ok) p.posted(posted.value.journalEntryId);
      else p.postingFailed(posted.reason);
      const written = await this.settleAndPersist();
      // Posted but not shown as posted yet: the main loop writes it again before the workflow ends.
      if (posted.ok && !written && patched(WRITE_BEFORE_POSTING_PATCH)) return 'unwritten';
      return posted.ok ? 'posted' : 'refused';
    });
  }

  shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (this.input.maxHistoryEvents !== undefined && info.historyLength > this.input.maxHistoryEvents);
  }

  /** Hands the state over to a fresh run once every handler has finished and everything is written. */
  async continueAsNew(): Promise<never> {
    await condition(allHandlersFinished);
    while (this.busy) await condition(() => !this.busy);
    this.projection.flush();
    const p = this.p;
    const historyOffset = this.projection.historyOffset;
    p.trim();
    return continueAsNew<(input: InvoiceWorkflowInput) => Promise<InvoiceWorkflowResult>>({
      ...this.input,
      resume: { process: p.toJSON(), historyOffset },
    });
  }

  async result(): Promise<InvoiceWorkflowResult> {
    await condition(allHandlersFinished);
    this.projection.flush();
    const state = this.p.state();
    return { stage: state.stage, ...(state.journalEntryId ? { journalEntryId: state.journalEntryId } : {}) };
  }
}

function refused(refusal: Refusal): ApplicationFailure {
  return ApplicationFailure.create({ type: ACTION_REFUSED, message: refusal.message, details: [refusal], nonRetryable: true });
}
