/**
 * One invoice from intake to final posting. The routing rules are the process (process/); this
 * function only tells the story: handlers, prepare or resume, wait, post, return.
 */
import { ROUTING_V2, type InvoiceWorkflowInput, type InvoiceWorkflowResult } from './definitions';
import { registerHandlers } from './handlers';
import { invoiceWorkflowV1 } from './legacy/invoice-v1';
import { InvoiceRun } from './run';
import { waitForChangeOrTimer } from './timers';

export async function invoiceWorkflow(input: InvoiceWorkflowInput): Promise<InvoiceWorkflowResult> {
  // Invoices started before routing v2 finish on the code they started with (replay-safe).
  if (input.routing !== ROUTING_V2) return invoiceWorkflowV1(input);

  const run = new InvoiceRun(input);
  registerHandlers(run);
  if ((await run.prepareOrResume()) === 'gone') return { stage: 'cancelled' };

  for (;;) {
    if (run.needsRetry) await run.retryAfterBackOff();
    else if (run.p.stage === 'cancelled' || run.p.stage === 'posted') return run.result();
    else if (run.p.stage === 'payment') {
      const posting = await run.post();
      if (posting === 'posted') return run.result();
      if (posting === 'retry') await run.backOff('postInvoice');
    } else if (run.shouldContinueAsNew()) return run.continueAsNew();
    else await waitForChangeOrTimer(run);
  }
}
