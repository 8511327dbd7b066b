/**
 * Starts what every test shares, once per run: a database (a fresh one on DATABASE_URL's server,
 * or an embedded PostgreSQL), the real Temporal dev server (unless TEMPORAL_ADDRESS is set), one
 * bundle of the workflow code, and the web page's build (dist/web).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { buildWebPage } from '../scripts/build-web';
import { createScratchDatabase } from '../scripts/scratch-database';
import { startTemporalDevServer } from '../scripts/temporal-server';
import { WORKFLOW_BUNDLE_OPTIONS } from '../worker/worker';

type Stop = () => Promise<void>;
const g = globalThis as typeof globalThis & { __invoiceflowTeardown?: Stop[] };

export default async function globalSetup(): Promise<void> {
  const stops: Stop[] = [];
  g.__invoiceflowTeardown = stops;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'invoiceflow-test-'));
  const log = (m: string) => process.env.TEST_VERBOSE && process.stderr.write(`${m}\n`);

  const [databaseUrl, temporalAddress, bundlePath] = await Promise.all([
    (async () => {
      const database = await createScratchDatabase('invoiceflow_test');
      stops.push(database.stop);
      return database.url;
    })(),
    (async () => {
      if (process.env.TEMPORAL_ADDRESS) return process.env.TEMPORAL_ADDRESS;
      const server = await startTemporalDevServer({ port: 0, headless: true, log });
      stops.push(server.stop);
      return server.address;
    })(),
    (async () => {
      // The same bundle options as the worker's, so tests run what production runs.
      const { code } = await bundleWorkflowCode({
        workflowsPath: require.resolve('../workflows'),
        logger: quietLogger,
        ...WORKFLOW_BUNDLE_OPTIONS,
      });
      const file = path.join(tmp, 'workflow-bundle.js');
      await writeFile(file, code);
      return file;
    })(),
    // The web page the API serves at / (test/e2e drives it in Chromium), built once per run.
    buildWebPage(),
  ]);

  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (m: string) => process.stderr.write(`${m}\n`),
  error: (m: string) => process.stderr.write(`${m}\n`),
};
