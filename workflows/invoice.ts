import {
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { createActivities } from '../activities';
import {
  ACTION_REFUSED,
  approveSignal,
  approveUpdate,
  rejectSignal,
  rejectUpdate,
  searchAttributes,
  stateQuery,
  type ActionResult,
  type InvoiceState,
  type InvoiceWorkflowInput,
  type InvoiceWorkflowResult,
  type Stage,
} from './definitions';
import { InvoiceProcess, type Action } from './invoice-process';

type Activities = ReturnType<typeof createActivities>;

const { prepareInvoice, recordState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

const { postInvoice } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes: ['UnbalancedJournal'] },
});

/** One invoice from intake to final posting. Human actions arrive as Updates (API) or Signals (Web UI). */
export async function invoiceWorkflow(input: InvoiceWorkflowInput): Promise<InvoiceWorkflowResult> {
  const { workflowId } = workflowInfo();
  let invoice: InvoiceProcess | undefined;
  /** History entries already handed to `recordState`. */
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
    const firstHistoryIndex = historySent;
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

  /** The one handler behind each action's Update and Signal. */
  async function act(action: Action, source: 'update' | 'signal'): Promise<ActionResult> {
    await condition(() => invoice !== undefined);
    const p = invoice!;
    const refusal = p.check(action);
    if (refusal) {
      p.recordRefusal(action, refusal, source);
      await persist();
      if (source === 'signal') {
        log.warn('signal refused', { action: action.kind, by: action.payload.by, reason: refusal.code });
        return { stage: p.currentStage, moved: false, message: refusal.message };
      }
      throw ApplicationFailure.create({ type: ACTION_REFUSED, message: refusal.message, details: [refusal], nonRetryable: true });
    }
    const result = p.apply(action);
    await persist();
    return result;
  }

  /** Refuses a bad update before it reaches history; signals are checked inside `act`. */
  function validate(action: Action): void {
    if (!invoice) return; // not prepared yet: `act` waits and checks then
    const refusal = invoice.check(action);
    if (refusal)
      throw ApplicationFailure.create({ type: ACTION_REFUSED, message: refusal.message, details: [refusal], nonRetryable: true });
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

  const ctx = await prepareInvoice({ invoiceId: input.invoiceId });
  invoice = new InvoiceProcess(workflowId, ctx, () => new Date());
  invoice.start();
  await persist();

  for (;;) {
    await condition(() => invoice!.currentStage === 'payment');
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
}
