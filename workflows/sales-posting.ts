/**
 * A mass posting of sales invoices (SPEC 2.5): chunk by chunk, each chunk one activity and one
 * database transaction. Exactly-once does not rest on this workflow: a chunk retried after a worker
 * crash finds its invoices posted (the journal's unique sales invoice id) and posts nothing twice.
 */
import { condition, allHandlersFinished, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  cancelSalesPostingUpdate,
  DEFAULT_SALES_CHUNK_SIZE,
  salesPostingProgressQuery,
  type SalesPostingInput,
  type SalesPostingProgress,
} from './sales-definitions';

export async function salesPostingWorkflow(input: SalesPostingInput): Promise<SalesPostingProgress> {
  const { postSalesChunk, finishSalesPosting } = proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds ?? 20} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
  const size = Math.max(1, input.chunkSize ?? DEFAULT_SALES_CHUNK_SIZE);
  const progress: SalesPostingProgress = {
    state: 'running',
    total: input.invoiceIds.length,
    processed: 0,
    posted: 0,
    customerItems: 0,
    refused: [],
    chunksDone: 0,
    cancelRequested: false,
  };
  setHandler(salesPostingProgressQuery, () => progress);
  setHandler(
    cancelSalesPostingUpdate,
    (_request) => {
      progress.cancelRequested = true;
      return progress;
    },
    {
      validator: (_request) => {
        if (progress.state !== 'running') throw new Error(`the posting is already ${progress.state}`);
      },
    },
  );

  for (let start = 0; start < input.invoiceIds.length && !progress.cancelRequested; start += size) {
    const result = await postSalesChunk({ postingId: input.postingId, invoiceIds: input.invoiceIds.slice(start, start + size) });
    progress.processed += result.posted.length + result.refused.length;
    progress.posted += result.posted.length;
    progress.customerItems += result.customerItems;
    progress.refused.push(...result.refused);
    progress.chunksDone += 1;
  }
  // Invoices of chunks not run (cancelled) are released for another posting.
  const finished = await finishSalesPosting({
    postingId: input.postingId,
    cancelled: progress.cancelRequested,
    refused: progress.refused,
  });
  progress.state = finished.state;
  await condition(allHandlersFinished);
  return progress;
}
