/**
 * The stack under test, each part a dependency that can fail: the bench launcher's rig (Temporal
 * dev server on a SQLite file, the worker and the API as their own processes) on an embedded
 * PostgreSQL of its own and an in-process SMTP server, both of which can be stopped and started
 * again on the same port. The machine's PostgreSQL and the test suite's shared servers are never touched.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRig, type Rig } from '../bench/batch-speed';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/embedded-postgres';
import { startSmtp, type ReceivedMail, type TestSmtp } from '../test/smtp';

export interface StampedMail extends ReceivedMail {
  /** When the chaos process saw it arrive (ms, performance.now()). */
  at: number;
}

/** The in-process SMTP server, restartable on its port; `received` spans every incarnation. */
export interface RestartableSmtp {
  url: string;
  received: StampedMail[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface ChaosRig {
  rig: Rig;
  postgres: EmbeddedPostgres;
  smtp: RestartableSmtp;
  /** Holds the PostgreSQL data directory, the Temporal SQLite file and the processes' logs. */
  workDir: string;
  apiLog: string;
  workerLog: string;
  /** Stops everything; removes the work directory unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

async function restartableSmtp(): Promise<RestartableSmtp & { close(): Promise<void> }> {
  let server: TestSmtp | undefined = await startSmtp(0);
  const url = server.url;
  const port = Number(new URL(url).port);
  const received: StampedMail[] = [];
  let seen = 0;
  // test/smtp.ts keeps what arrives in an array per incarnation; stamp each mail as it shows up.
  const collect = () => {
    while (server && seen < server.messages.length) received.push({ ...server.messages[seen++]!, at: performance.now() });
  };
  const timer = setInterval(collect, 100);
  return {
    url,
    received,
    stop: async () => {
      const s = server;
      if (!s) return;
      collect();
      server = undefined;
      await s.stop();
      // A mail that finished while the server was closing.
      for (const m of s.messages.slice(seen)) received.push({ ...m, at: performance.now() });
      seen = 0;
    },
    start: async () => {
      if (server) return;
      server = await startSmtp(port);
      seen = 0;
    },
    close: async () => {
      clearInterval(timer);
      collect();
      if (server) await server.stop();
      server = undefined;
    },
  };
}

/** Embedded PostgreSQL and SMTP first, then the rig on them (its own Temporal dev server, worker, API). */
export async function startChaosRig(opts: {
  company: string;
  log?: (m: string) => void;
  /** A prebuilt workflow bundle for the worker (WORKFLOW_BUNDLE); without it each worker bundles at start, as in production. */
  workflowBundle?: string | undefined;
}): Promise<ChaosRig> {
  const log = opts.log ?? (() => {});
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'invoiceflow-chaos-'));
  // An embedded PostgreSQL started as root runs as "postgres", which must enter this directory.
  await chmod(workDir, 0o755);
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(workDir, 'postgres'), port: 0 });
  log(`embedded PostgreSQL at ${new URL(postgres.url).host}`);
  const smtp = await restartableSmtp();
  log(`SMTP server at ${smtp.url}`);
  let rig: Rig;
  try {
    rig = await startRig({
      postgresUrl: postgres.url,
      company: opts.company,
      // info: the processes log when they are ready ("worker started"), which the report times.
      env: { SMTP_URL: smtp.url, LOG_LEVEL: 'info', ...(opts.workflowBundle ? { WORKFLOW_BUNDLE: opts.workflowBundle } : {}) },
      baselineWorker: false,
      dataDir: workDir,
      logDir: workDir,
    });
  } catch (err) {
    await smtp.close();
    await postgres.stop();
    throw err;
  }
  log(`Temporal dev server at ${rig.processEnv.TEMPORAL_ADDRESS}, API at ${rig.apiUrl}; logs in ${workDir}`);
  return {
    rig,
    postgres,
    smtp,
    workDir,
    apiLog: path.join(workDir, 'api.log'),
    workerLog: path.join(workDir, 'worker.log'),
    stop: async ({ keep = false } = {}) => {
      await rig.stop();
      await smtp.close();
      await postgres.stop();
      if (!keep) await rm(workDir, { recursive: true, force: true });
    },
  };
}
