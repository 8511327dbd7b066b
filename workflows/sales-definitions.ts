/**
 * The contract of the sales mass-posting workflow (SPEC 2.5): its id, input, progress query and
 * cancel update. The API imports this file, never the workflow implementation.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const SALES_POSTING_WORKFLOW_TYPE = 'salesPostingWorkflow';

/** One run per preview token: a double submit of the same confirmation is the same run. */
export function salesPostingWorkflowId(previewToken: string): string {
  return `sales-posting-${previewToken}`;
}

/** Invoices posted per activity (one database transaction each). */
export const DEFAULT_SALES_CHUNK_SIZE = 50;

export interface SalesPostingInput {
  /** The posting's id: the workflow id, and the `posting_id` that holds its invoices. */
  postingId: string;
  /** Ids only (history keeps them); at most 10,000. */
  invoiceIds: string[];
  chunkSize?: number;
  /** Seconds without a heartbeat before a chunk is retried elsewhere (tests make it short). */
  heartbeatTimeoutSeconds?: number;
}

export interface SalesPostingRefusal {
  id: string;
  reasons: string[];
}

export interface SalesPostingProgress {
  state: 'running' | 'completed' | 'cancelled';
  total: number;
  /** Invoices handled so far (posted or refused). */
  processed: number;
  posted: number;
  customerItems: number;
  refused: SalesPostingRefusal[];
  chunksDone: number;
  cancelRequested: boolean;
}

export const salesPostingProgressQuery = defineQuery<SalesPostingProgress>('progress');

/** Stops the run before its next chunk; the chunk in progress completes. Answers the progress then. */
export const cancelSalesPostingUpdate = defineUpdate<SalesPostingProgress, [{ by: string }]>('cancel');
