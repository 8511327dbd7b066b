/**
 * A worker of its own process on one task queue, for tests that kill it (SIGKILL: a crash):
 * `SALES_TASK_QUEUE`, with the test run's database, Temporal server and workflow bundle.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { connectDatabase } from '../db/client';
import { createInvoiceWorker } from '../worker/worker';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const database = connectDatabase(env('TEST_DATABASE_URL'));
  const connection = await NativeConnection.connect({ address: env('TEST_TEMPORAL_ADDRESS') });
  const worker = await createInvoiceWorker({
    connection,
    namespace: 'default',
    activities: createActivities({ db: database.db, clock: () => new Date() }),
    workflowBundle: { codePath: env('TEST_WORKFLOW_BUNDLE') },
    taskQueue: env('SALES_TASK_QUEUE'),
  });
  process.stdout.write('ready\n');
  await worker.run();
  await connection.close();
  await database.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`sales worker failed: ${String(err)}\n`);
  process.exit(1);
});
