import { Client, Connection } from '@temporalio/client';
import { connectDatabase } from '../db/client';
import { listenHost, loadConfig, replyAddressing, requireDatabaseUrl } from '../lib/config';
import { createLogger } from '../lib/logger';
import { startInboundMail } from './inbound';

/** The inbound mail process (`npm run start:inbound`): suppliers' answers on INBOUND_SMTP_PORT, until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('inbound-mail', config.LOG_LEVEL);
  const addressing = replyAddressing(config);
  const database = connectDatabase(requireDatabaseUrl(config));
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const host = listenHost(config);
  const inbound = await startInboundMail({ db: database.db, temporal, log, port: config.INBOUND_SMTP_PORT, host, addressing });
  log.info({ host, port: inbound.port, domain: addressing.domain }, 'inbound mail listening');
  const stop = () => {
    log.info('inbound mail stopping');
    setTimeout(() => process.exit(0), 10_000).unref();
    void inbound
      .stop()
      .then(() => Promise.all([connection.close(), database.close()]))
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`inbound mail failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
