/** Throwaway databases for tests and benchmarks, on DATABASE_URL's server or an embedded one. */
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { runMigrations } from '../db/migrate';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface ScratchDatabase {
  url: string;
  /** Drops the database (and stops the embedded server, if one was started). */
  stop(): Promise<void>;
}

/** A fresh, migrated database named `<prefix>_<pid>_<time>`. */
export async function createScratchDatabase(prefix: string, serverUrl = process.env.DATABASE_URL): Promise<ScratchDatabase> {
  let server = serverUrl;
  let stopServer = async () => {};
  if (!server) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
    await chmod(dir, 0o755); // an embedded PostgreSQL started as root runs as "postgres" and must enter it
    const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), port: 0 });
    server = pg.url;
    stopServer = pg.stop;
  }
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return {
    url: url.toString(),
    stop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
      await stopServer();
    },
  };
}
