/**
 * Starts what every test shares, once per run: a database (a fresh one on DATABASE_URL's server,
 * or an embedded PostgreSQL), the real Temporal dev server (unless TEMPORAL_ADDRESS is set), and
 * one bundle of the workflow code.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import postgres from 'postgres';
import { runMigrations } from '../db/migrate';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres';
import { startTemporalDevServer } from '../scripts/temporal-server';

type Stop = () => Promise<void>;
const g = globalThis as typeof globalThis & { __invoiceflowTeardown?: Stop[] };

export default async function globalSetup(): Promise<void> {
  const stops: Stop[] = [];
  g.__invoiceflowTeardown = stops;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'invoiceflow-test-'));
  await chmod(tmp, 0o755); // an embedded PostgreSQL started as root runs as "postgres" and must enter it
  const log = (m: string) => process.env.TEST_VERBOSE && process.stderr.write(`${m}\n`);

  const [databaseUrl, temporalAddress, bundlePath] = await Promise.all([
    (async () => {
      let serverUrl = process.env.DATABASE_URL;
      if (!serverUrl) {
        const embedded = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'postgres'), port: 0, log });
        stops.push(embedded.stop);
        serverUrl = embedded.url;
      }
      const url = await createScratchDatabase(serverUrl, stops);
      await runMigrations(url);
      return url;
    })(),
    (async () => {
      if (process.env.TEMPORAL_ADDRESS) return process.env.TEMPORAL_ADDRESS;
      const server = await startTemporalDevServer({ port: 0, headless: true, log });
      stops.push(server.stop);
      return server.address;
    })(),
    (async () => {
      const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
      const file = path.join(tmp, 'workflow-bundle.js');
      await writeFile(file, code);
      return file;
    })(),
  ]);

  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
}

/** A database of its own for this run on the given server, dropped at teardown. */
async function createScratchDatabase(serverUrl: string, stops: Stop[]): Promise<string> {
  const name = `invoiceflow_test_${process.pid}_${Date.now()}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  stops.unshift(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (m: string) => process.stderr.write(`${m}\n`),
  error: (m: string) => process.stderr.write(`${m}\n`),
};
