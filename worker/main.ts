import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { connectDatabase } from '../db/client';
import { loadConfig, replyAddressing, requireDatabaseUrl } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { startInvoiceStarter } from './invoice-starter';
import { moveTasksOfAbsentUsers } from '../lib/absences';
import { startPoller } from '../lib/poller';
import { startMailDispatcher } from './mail-dispatcher';
import { ensureSchedules } from './schedules';
import { loadWorkerSettings } from './settings';
import { createInvoiceWorker } from './worker';

/** The worker process: wires real dependencies and runs until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const settings = loadWorkerSettings();
  const log = createLogger('worker', config.LOG_LEVEL);
  // The SDK's own logs (worker state, activity failures, workflow logs) go through pino too.
  const sdk = log.child({ component: 'temporal' });
  const write = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: object) =>
    sdk[level](meta ?? {}, message);
  Runtime.install({
    ...(settings.metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: settings.metricsAddress } } } } : {}),
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
  // Temporal may be starting beside the worker or restarting: connect with back-off, as the SDK
  // itself reconnects once connected, instead of crash-looping on the first refusal.
  const connection = await connectPatiently(() => NativeConnection.connect({ address: config.TEMPORAL_ADDRESS }), log);
  let failed = false;
  try {
    const mailer = createMailer(config.SMTP_URL);
    const activities = createActivities({
      db: database.db,
      mailer,
      clock: () => new Date(),
      mailFrom: config.MAIL_FROM,
      replyAddressing: replyAddressing(config),
    });
    // Mails leave through the outbox, beside the worker and off every invoice's path; the
    // dispatcher reads the mail templates now, so a broken one stops the worker at start.
    const dispatcher = startMailDispatcher({
      db: database.db,
      mailer,
      mailFrom: config.MAIL_FROM,
      addressing: replyAddressing(config),
      log: log.child({ component: 'mail' }),
    });
    // WORKFLOW_BUNDLE: a bundle built ahead with bundleWorkflowCode (as the tests' global setup
    // does); a restarted worker then polls within seconds instead of bundling for 10-30 s first.
    const bundlePath = process.env.WORKFLOW_BUNDLE;
    const worker = await createInvoiceWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      activities,
      capacity: settings.capacity,
      ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
    });
    const clientConnection = await connectPatiently(() => Connection.connect({ address: config.TEMPORAL_ADDRESS }), log);
    const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
    // Schedules are created (or updated) idempotently by every worker that starts.
    await ensureSchedules(client, config.AGREEMENT_GRACE_DAYS);
    // Invoices whose workflow intake could not start (Temporal away) are started from here.
    const starter = startInvoiceStarter({ db: database.db, temporal: client, log: log.child({ component: 'starter' }) });
    // When an absence begins, the absent user's open tasks go to their substitute.
    const absenceLog = log.child({ component: 'absences' });
    const absences = startPoller({
      what: 'moving the tasks of absent users',
      log: absenceLog,
      intervalMs: 30_000,
      round: async () => (await moveTasksOfAbsentUsers(database.db, client, { log: absenceLog })).users,
    });
    log.info({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, ...settings }, 'worker started');
    await worker.run(); // the SDK shuts down gracefully on SIGINT and SIGTERM
    await Promise.all([dispatcher.stop(), starter.stop(), absences.stop()]);
    await clientConnection.close();
    log.info('worker stopped');
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // A worker created but never run still holds the connection: closing it then throws
    // IllegalStateError, which must not hide the error that brought us here.
    await connection.close().catch((err: unknown) => {
      if (!failed) throw err;
    });
    await database.close();
  }
}

/** How long the worker keeps trying to reach Temporal at start before it gives up (and is restarted). */
const CONNECT_PATIENCE_MS = 120_000;

async function connectPatiently<T>(connect: () => Promise<T>, log: ReturnType<typeof createLogger>): Promise<T> {
  const giveUpAt = Date.now() + CONNECT_PATIENCE_MS;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await connect();
    } catch (err) {
      if (Date.now() + wait > giveUpAt) throw err;
      log.warn({ err: (err as Error).message, retryInMs: wait }, 'Temporal not reachable yet; trying again');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
