import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { connectDatabase } from '../db/client';
import { loadConfig, requireDatabaseUrl } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { startInvoiceStarter } from './invoice-starter';
import { startMailDispatcher } from './mail-dispatcher';
import { ensureSchedules } from './schedules';
import { createInvoiceWorker } from './worker';

/** The worker process: wires real dependencies and runs until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('worker', config.LOG_LEVEL);
  // The SDK's own logs (worker state, activity failures, workflow logs) go through pino too.
  const sdk = log.child({ component: 'temporal' });
  const write = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: object) =>
    sdk[level](meta ?? {}, message);
  Runtime.install({
    logger: {
      log: (level, message, meta) =>
        write(level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'WARN' ? 'warn' : level === 'ERROR' ? 'error' : 'info')(
          message,
          meta,
        ),
      trace: write('trace'),
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
    },
  });
  const database = connectDatabase(requireDatabaseUrl(config));
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const mailer = createMailer(config.SMTP_URL);
    const activities = createActivities({ db: database.db, mailer, clock: () => new Date(), mailFrom: config.MAIL_FROM });
    // Mails leave through the outbox, beside the worker and off every invoice's path.
    const dispatcher = startMailDispatcher({ db: database.db, mailer, mailFrom: config.MAIL_FROM, log: log.child({ component: 'mail' }) });
    const worker = await createInvoiceWorker({ connection, namespace: config.TEMPORAL_NAMESPACE, activities });
    const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
    // Schedules are created (or updated) idempotently by every worker that starts.
    await ensureSchedules(client, config.AGREEMENT_GRACE_DAYS);
    // Invoices whose workflow intake could not start (Temporal away) are started from here.
    const starter = startInvoiceStarter({ db: database.db, temporal: client, log: log.child({ component: 'starter' }) });
    log.info({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
    await worker.run(); // the SDK shuts down gracefully on SIGINT and SIGTERM
    await Promise.all([dispatcher.stop(), starter.stop()]);
    await clientConnection.close();
    log.info('worker stopped');
  } finally {
    await connection.close();
    await database.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
