/**
 * `npm run dev`: everything on one machine with demo data. Starts PostgreSQL (embedded unless
 * DATABASE_URL is set) and the Temporal dev server with its Web UI (unless TEMPORAL_ADDRESS is
 * set), applies migrations, seeds the demo company, runs the worker, the API and the inbound mail
 * endpoint as child processes, catches the mail the worker sends (unless SMTP_URL is set; shown at
 * /dev/mail), and prints the URLs and tokens. Ctrl-C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { connectDatabase } from '../db/client';
import { runMigrations } from '../db/migrate';
import { seedCompany, seedPartner } from '../db/seed';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { startDevMailCatcher } from './dev-mail';
import { buildWebPage } from './build-web';
import { seedDemoInvoices } from './demo-invoices';
import { seedDemoSales } from './demo-sales';
import { startEmbeddedPostgres } from './embedded-postgres';
import { startTemporalDevServer } from './temporal-server';

const ROOT = path.resolve(__dirname, '..');
const DATA = process.env.INVOICEFLOW_DATA_DIR ?? path.join(ROOT, '.data');
process.env.LOG_PRETTY ??= '1';
const log = createLogger('dev');
const stops: (() => Promise<void>)[] = [];
let stopping = false;

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.NODE_ENV === 'production') throw new Error('npm run dev seeds demo users and is refused with NODE_ENV=production');
  // Every signal, not once: a terminal's Ctrl-C can reach the launcher twice (npm, the shell), and
  // a second one without a handler would kill it mid-shutdown, its worker and API left running.
  const onSignal = () => void shutdown(0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const [, databaseUrl, temporal] = await Promise.all([
    // The web page the API serves at /, built while the servers start (about 2 s).
    buildWebPage({ log: true }),
    (async () => {
      if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
      log.info('starting embedded PostgreSQL');
      const pg = await startEmbeddedPostgres({
        dataDir: path.join(DATA, 'postgres'),
        port: Number(process.env.EMBEDDED_PG_PORT ?? 5433),
        log: (m) => log.debug(m),
      });
      stops.unshift(pg.stop);
      // embedded-postgres's exit hook (async-exit-hook) stops Postgres on SIGINT or SIGTERM and
      // exits at once, before the worker and the API are stopped: the launcher stops it itself, last.
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        for (const listener of process.listeners(signal)) if (listener !== onSignal) process.off(signal, listener);
      return pg.url;
    })(),
    (async () => {
      if (process.env.TEMPORAL_ADDRESS) return { address: process.env.TEMPORAL_ADDRESS, uiUrl: undefined };
      log.info('starting the Temporal dev server (the first run may build the CLI, which takes minutes)');
      const server = await startTemporalDevServer({
        dbFilename: path.join(DATA, 'temporal.sqlite'),
        port: 7233,
        uiPort: 8233,
        namespace: config.TEMPORAL_NAMESPACE,
        log: (m) => (m.startsWith('temporal: ') ? log.debug(m) : log.info(m)),
      });
      stops.unshift(server.stop);
      return server;
    })(),
  ]);

  await runMigrations(databaseUrl);
  const database = connectDatabase(databaseUrl, { max: 2 });
  const company = await seedCompany(database.db, 'demo', { directory: true });
  const partner = await seedPartner(database.db, 'demo');
  await database.close();

  // Mail goes to SMTP_URL when set; otherwise to a catcher here, whose mails the API shows at /dev/mail.
  const catcher = process.env.SMTP_URL ? undefined : await startDevMailCatcher({ dir: path.join(DATA, 'mail') });
  if (catcher) stops.unshift(catcher.stop);

  const env = {
    ...process.env,
    ...(catcher ? { SMTP_URL: catcher.url, DEV_MAIL_DIR: catcher.dir } : {}),
    INBOUND_SMTP_PORT: String(config.INBOUND_SMTP_PORT),
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    PORT: String(config.PORT),
  };
  run('worker', 'worker/main.ts', env);
  run('api', 'api/main.ts', env);
  run('inbound-mail', 'mail/main.ts', env);
  const apiUrl = `http://localhost:${config.PORT}`;
  await waitUntilReady(`${apiUrl}/readyz`);

  await seedDemoInvoices(apiUrl, company);
  await seedDemoSales(apiUrl, company);

  const tokens = Object.entries(company.tokens)
    .map(([name, token]) => `    ${name.padEnd(6)} ${token.padEnd(12)} (user id ${company.users[name]})`)
    .join('\n');
  process.stdout.write(
    [
      '',
      'invoiceflow is running',
      `  Web page         ${apiUrl}/  (sign in as a demo user below)`,
      `  API              ${apiUrl}/api/v1`,
      `  OpenAPI docs     ${apiUrl}/docs  (spec: ${apiUrl}/openapi.json)`,
      `  Temporal Web UI  ${temporal.uiUrl ?? '(external Temporal server: see its own UI)'}`,
      `  Temporal         ${temporal.address}, namespace ${config.TEMPORAL_NAMESPACE}`,
      `  Mail sent        ${catcher ? `${apiUrl}/dev/mail  (caught on ${catcher.url}, kept in ${catcher.dir})` : redact(config.SMTP_URL!)}`,
      `  Inbound mail     smtp://127.0.0.1:${config.INBOUND_SMTP_PORT}  (supplier answers to replies+<token>@${config.REPLY_DOMAIN})`,
      `  Database         ${redact(databaseUrl)}`,
      '  Demo users and bearer tokens:',
      tokens,
      `    partner dave ${partner.tokens.dave} (user id ${partner.users.dave}, partner environment: delegate to them)`,
      '',
      `  Try: curl -H 'Authorization: Bearer demo-alice' ${apiUrl}/api/v1/work-queue`,
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  );
}

function run(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      log.error({ code, signal }, `${name} exited; stopping everything`);
      void shutdown(1);
    }
  });
  stops.unshift(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  );
  return child;
}

async function waitUntilReady(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s`);
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('stopping');
  for (const stop of stops) await stop().catch((err: unknown) => log.warn({ err }, 'stop failed'));
  process.exit(code);
}

main().catch(async (err: unknown) => {
  log.error({ err }, 'dev launcher failed');
  await shutdown(1);
});
