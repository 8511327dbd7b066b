import { Client, Connection } from '@temporalio/client';
import { connectDatabase } from '../db/client';
import { listenHost, loadConfig, replyAddressing, requireDatabaseUrl } from '../lib/config';
import { firstStepActivities } from '../lib/first-step';
import { createLogger } from '../lib/logger';
import { createApp } from './app';

/** The API process: one database pool and one Temporal connection, closed on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('api', config.LOG_LEVEL);
  const database = connectDatabase(requireDatabaseUrl(config), { memoize: false });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const host = listenHost(config);
  // Intake takes a new invoice's first step with the worker's mail settings (start rules may write to suppliers).
  const firstStep = firstStepActivities({
    db: database.db,
    clock: () => new Date(),
    mailFrom: config.MAIL_FROM,
    replyAddressing: replyAddressing(config),
  });
  const server = createApp({ database, temporal, logger: log, firstStep }).listen(config.PORT, host, () => {
    log.info({ host, port: config.PORT }, 'api listening');
  });
  const stop = () => {
    log.info('api stopping');
    server.close(() => {
      void Promise.all([connection.close(), database.close()]).finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`api failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
