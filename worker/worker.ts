import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { TASK_QUEUE } from '../workflows/definitions';
import { loadWorkerSettings, type WorkerCapacity } from './settings';

export type Activities = ReturnType<typeof createActivities>;

/**
 * Modules evaluated once per worker instead of once per workflow (the SDK re-initialises every
 * other module for each workflow in the reused V8 context): zod and the payload schemas, which
 * are stateless. Without them each cached workflow held about 0.9 MiB more.
 */
export const WORKFLOW_BUNDLE_OPTIONS = { preloadModules: ['zod', require.resolve('../workflows/payload-check')] };

export interface InvoiceWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  activities: Activities;
  /** A pre-built bundle (tests bundle once per run); otherwise the workflows are bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  taskQueue?: string;
  /** Sticky cache and concurrency; default from the environment (WORKER_*, worker/settings.ts). */
  capacity?: WorkerCapacity;
}

/** The worker of the `invoices` task queue, with real or wrapped activities. */
export function createInvoiceWorker(opts: InvoiceWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: opts.activities,
    ...(opts.capacity ?? loadWorkerSettings().capacity),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows'), bundlerOptions: WORKFLOW_BUNDLE_OPTIONS }),
  });
}
