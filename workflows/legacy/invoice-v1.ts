import {
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { Activities } from '../../activities';
import {
  ACTION_REFUSED,
  approveSignal,
  approveUpdate,
  delegateSignal,
  delegateUpdate,
  exceptionsReviewSignal,
  exceptionsReviewUpdate,
  notMineSignal,
  notMineUpdate,
  reassignSignal,
  reassignUpdate,
  rejectSignal,
  rejectUpdate,
  resolveExceptionSignal,
  resolveExceptionUpdate,
  restartSignal,
  restartUpdate,
  searchAttributes,
  stateQuery,
  type ActionResult,
  type InvoiceState,
  type InvoiceWorkflowInput,
  type InvoiceWorkflowResult,
  type Refusal,
  type Stage,
} from '../definitions';
import type { InvoiceContext } from './definitions-v1';
import { InvoiceProcess, type Action } from './invoice-process-v1';

const { prepareInvoice, recordState, lookupDelegate, resolveAssigneeSpec, sendTaskEmail } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

const { postInvoice } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes: ['UnbalancedJournal'] },
});

/** Patch marker of reminder and escalation timers and continue-as-new (histories before it have none). */
export const TASK_TIMERS_PATCH = 'task-timers';

/**
 * The v1 invoice workflow, frozen: invoices started before routing v2 finish on it, and the
 * recorded v1 histories replay against it. Do not change it; remove it once no such invoice runs.
 */
export async function invoiceWorkflowV1(input: InvoiceWorkflowInput): Promise<InvoiceWorkflowResult> {
  const { workflowId } = workflowInfo();
  let invoice: InvoiceProcess | undefined;
  let ctx = input.resume?.context as InvoiceContext | undefined;
  /** History entries persisted by earlier runs, and by this run. */
  const historyBase = input.resume?.historyOffset ?? 0;
  let historySent = 0;
  // What the search attributes show; the starter sets InvoiceStage=new and no Assignees.
  let shown: { stage: Stage; assignees: string } = { stage: 'new', assignees: '' };

  setHandler(stateQuery, (): InvoiceState =>
    invoice ? invoice.state() : { invoiceId: input.invoiceId, stage: 'new', seq: 0, tasks: [], rows: [], history: [] },
  );

  /** Writes the current state to Postgres and keeps the Web UI's search attributes current. */
  async function persist(): Promise<void> {
    const p = invoice!;
    const snapshot = p.snapshot();
    const history = snapshot.history.slice(historySent);
    const firstHistoryIndex = historyBase + historySent;
    historySent = snapshot.history.length;
    updateSearchAttributes(p);
    await recordState({ companyId: input.companyId, state: { ...snapshot, history }, firstHistoryIndex });
  }

  function updateSearchAttributes(p: InvoiceProcess): void {
    const assignees = p.openAssignees;
    const next = { stage: p.currentStage, assignees: assignees.join(',') };
    const changes = [];
    if (next.stage !== shown.stage) changes.push({ key: searchAttributes.InvoiceStage, value: next.stage });
    if (next.assignees !== shown.assignees) changes.push({ key: searchAttributes.Assignees, value: assignees });
    if (changes.length > 0) upsertSearchAttributes(changes);
    shown = next;
  }

  function refused(refusal: Refusal): ApplicationFailure {
    return ApplicationFailure.create({ type: ACTION_REFUSED, message: refusal.message, details: [refusal], nonRetryable: true });
  }

  /** Looks up what an action needs from the database (a delegate, new assignees) before it is checked. */
  async function enrich(action: Action): Promise<Action> {
    if (action.kind === 'delegate' && typeof action.payload.to === 'string' && action.payload.to) {
      const lookup = await lookupDelegate({ invoiceId: input.invoiceId, userId: action.payload.to, stage: invoice!.currentStage });
      return { ...action, lookup };
    }
    if (
      action.kind === 'reassign' &&
      action.payload.to &&
      typeof action.payload.by === 'string' &&
      invoice!.check({ ...action }) === undefined
    ) {
      const assignees = await resolveAssigneeSpec({ companyId: input.companyId, spec: action.payload.to });
      return { ...action, assignees };
    }
    return action;
  }

  /** The one handler behind each action's Update and Signal. */
  async function act(raw: Action, source: 'update' | 'signal'): Promise<ActionResult> {
    await condition(() => invoice !== undefined);
    const p = invoice!;
    const action = await enrich(raw);
    const refusal = p.check(action);
    if (refusal) {
      p.recordRefusal(action, refusal, source);
      await persist();
      if (source === 'signal') {
        log.warn('signal refused', { action: action.kind, by: action.payload.by, reason: refusal.code });
        return { stage: p.currentStage, moved: false, message: refusal.message };
      }
      throw refused(refusal);
    }
    const result = p.apply(action);
    await persist();
    return result;
  }

  /** Refuses a bad update before it reaches history; signals are checked inside `act`. */
  function validate(action: Action): void {
    if (!invoice) return; // not prepared yet: `act` waits and checks then
    const refusal = invoice.check(action);
    if (refusal) throw refused(refusal);
  }

  function handle<P extends Action['payload']>(
    kind: Action['kind'],
    update: UpdateDefinition<ActionResult, [P]>,
    signal: SignalDefinition<[P]>,
  ): void {
    const toAction = (payload: P) => ({ kind, payload: payload ?? {} }) as Action;
    setHandler(update, (payload) => act(toAction(payload), 'update'), { validator: (payload) => validate(toAction(payload)) });
    setHandler(signal, async (payload) => {
      await act(toAction(payload), 'signal');
    });
  }
  handle('approve', approveUpdate, approveSignal);
  handle('reject', rejectUpdate, rejectSignal);
  handle('delegate', delegateUpdate, delegateSignal);
  handle('notMine', notMineUpdate, notMineSignal);
  handle('exceptionsReview', exceptionsReviewUpdate, exceptionsReviewSignal);
  handle('resolveException', resolveExceptionUpdate, resolveExceptionSignal);
  handle('restart', restartUpdate, restartSignal);
  handle('reassign', reassignUpdate, reassignSignal);

  if (input.resume && ctx) {
    invoice = InvoiceProcess.restore(workflowId, ctx, () => new Date(), input.resume.process);
    shown = { stage: invoice.currentStage, assignees: invoice.openAssignees.join(',') };
  } else {
    ctx = await prepareInvoice({ invoiceId: input.invoiceId });
    invoice = new InvoiceProcess(workflowId, ctx, () => new Date());
    invoice.start();
    await persist();
  }

  for (;;) {
    if (patched(TASK_TIMERS_PATCH)) {
      await waitForChangeOrTimer();
      if (shouldContinueAsNew()) {
        await condition(allHandlersFinished);
        if (invoice.currentStage !== 'payment') {
          const historyOffset = historyBase + invoice.historyLength;
          invoice.trimHistory();
          return continueAsNew<typeof invoiceWorkflowV1>({ ...input, resume: { process: invoice.toJSON(), historyOffset, context: ctx } });
        }
      }
    } else {
      await condition(() => invoice!.currentStage === 'payment');
    }
    if (invoice.currentStage !== 'payment') continue;
    try {
      const { journalEntryId } = await postInvoice({ invoiceId: input.invoiceId });
      invoice.posted(journalEntryId);
      await persist();
      break;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      invoice.postingFailed(err.cause?.message ?? err.message);
      await persist();
    }
  }

  await condition(allHandlersFinished);
  const final = invoice.state();
  return { stage: final.stage, ...(final.journalEntryId ? { journalEntryId: final.journalEntryId } : {}) };

  function shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (input.maxHistoryEvents !== undefined && info.historyLength > input.maxHistoryEvents);
  }

  /**
   * Waits until the invoice changes, reaches payment, should continue as new, or the open task's
   * reminder or escalation is due; fires the one that is due.
   */
  async function waitForChangeOrTimer(): Promise<void> {
    const p = invoice!;
    const version = p.version;
    const changed = () => p.version !== version || p.currentStage === 'payment' || shouldContinueAsNew();
    const task = p.openTask;
    const step = p.currentStep;
    const opened = task ? Date.parse(task.openedAt) : 0;
    const due: { at: number; kind: 'reminder' | 'escalation' }[] = [];
    if (task && step?.reminderAfterMs !== undefined && !task.remindedAt) due.push({ at: opened + step.reminderAfterMs, kind: 'reminder' });
    if (task && step?.escalateAfterMs !== undefined && !task.escalatedAt)
      due.push({ at: opened + step.escalateAfterMs, kind: 'escalation' });
    const next = due.sort((a, b) => a.at - b.at)[0];
    if (!task || !next) {
      await condition(changed);
      return;
    }
    if (await condition(changed, Math.max(next.at - Date.now(), 1))) return;
    if (next.kind === 'reminder') {
      await sendTaskEmail({ invoiceId: input.invoiceId, taskId: task.id, kind: 'reminder', to: task.assignees });
      p.reminded(task.id, task.assignees);
    } else {
      const added = p.escalated(task.id);
      await sendTaskEmail({
        invoiceId: input.invoiceId,
        taskId: task.id,
        kind: 'escalation',
        to: added.length > 0 ? added : task.assignees,
      });
    }
    await persist();
  }
}
