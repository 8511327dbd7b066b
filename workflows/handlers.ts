/**
 * Every action is both an Update (the API, which needs the result) and a Signal (the Temporal Web
 * UI and CLI), handled by one function; the `state` query answers from the process.
 */
import { setHandler } from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import {
  approveSignal,
  approveUpdate,
  codingChangedSignal,
  codingChangedUpdate,
  delegateSignal,
  delegateUpdate,
  exceptionsReviewSignal,
  exceptionsReviewUpdate,
  notMineSignal,
  notMineUpdate,
  overrideReviewSignal,
  overrideReviewUpdate,
  reassignSignal,
  reassignUpdate,
  refreshSignal,
  refreshUpdate,
  rejectSignal,
  rejectUpdate,
  resolveExceptionSignal,
  resolveExceptionUpdate,
  restartSignal,
  restartUpdate,
  reviewAgainSignal,
  reviewAgainUpdate,
  stateQuery,
  supplierRepliedUpdate,
  type ActionName,
  type ActionResult,
  type InvoiceState,
} from './definitions';
import type { InvoiceRun } from './run';

export function registerHandlers(run: InvoiceRun): void {
  setHandler(stateQuery, (): InvoiceState =>
    run.process ? run.process.state() : { invoiceId: run.input.invoiceId, stage: 'new', seq: 0, tasks: [], rows: [], history: [] },
  );
  const both = <P>(kind: ActionName, update: UpdateDefinition<ActionResult, [P]>, signal: SignalDefinition<[P]>) => {
    setHandler(update, (payload) => run.act(kind, payload, 'update'), { validator: (payload) => run.validate(kind, payload) });
    setHandler(signal, async (payload) => {
      await run.act(kind, payload, 'signal');
    });
  };
  both('approve', approveUpdate, approveSignal);
  both('reject', rejectUpdate, rejectSignal);
  both('delegate', delegateUpdate, delegateSignal);
  both('notMine', notMineUpdate, notMineSignal);
  both('exceptionsReview', exceptionsReviewUpdate, exceptionsReviewSignal);
  both('resolveException', resolveExceptionUpdate, resolveExceptionSignal);
  both('restart', restartUpdate, restartSignal);
  both('reassign', reassignUpdate, reassignSignal);
  both('refresh', refreshUpdate, refreshSignal);
  both('codingChanged', codingChangedUpdate, codingChangedSignal);
  both('reviewAgain', reviewAgainUpdate, reviewAgainSignal);
  both('overrideReview', overrideReviewUpdate, overrideReviewSignal);
  // Not a person's action: the inbound mail endpoint's word that an answer was stored.
  setHandler(supplierRepliedUpdate, (payload) => run.supplierReplied(payload.messageId), {
    validator: (payload) => {
      if (typeof payload?.messageId !== 'string' || !/^[0-9a-f-]{36}$/i.test(payload.messageId)) {
        throw new Error('supplierReplied needs {messageId}: the id of the stored message');
      }
    },
  });
}
