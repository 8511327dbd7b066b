/**
 * The real Temporal dev server for development and tests: finds (or builds) the Temporal CLI,
 * starts `temporal server start-dev`, and registers our search attributes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../workflows/definitions';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;
type Log = (m: string) => void;

/** `${XDG_CACHE_HOME ?? ~/.cache}/invoiceflow`, or INVOICEFLOW_CACHE_DIR. Outside the repo. */
export function cacheRoot(): string {
  if (process.env.INVOICEFLOW_CACHE_DIR) return process.env.INVOICEFLOW_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'invoiceflow');
}

function cachedCliDir(): string {
  return path.join(cacheRoot(), 'temporal-cli', TEMPORAL_CLI_VERSION);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The Temporal CLI, in this order: TEMPORAL_CLI_PATH; `temporal` on PATH; the cached build; a
 * fresh `go install` into the cache (when Go is there). Undefined when none works, so the caller
 * can fall back to the SDK's own download.
 */
export async function findTemporalCli(opts: { log?: Log; build?: boolean } = {}): Promise<string | undefined> {
  const log = opts.log ?? (() => {});
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
  }
  const fromPath = await onPath('temporal');
  if (fromPath) return fromPath;
  const cached = path.join(cachedCliDir(), 'temporal');
  if (await isExecutable(cached)) return cached;
  if (opts.build === false) return undefined;
  const go = await onPath('go');
  if (!go) {
    log('Temporal CLI not found and Go is not installed; falling back to the SDK download');
    return undefined;
  }
  await mkdir(cachedCliDir(), { recursive: true });
  log(`building the Temporal CLI with "go install ${CLI_MODULE}" into ${cachedCliDir()} (takes a few minutes, once)`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', CLI_MODULE], {
        env: { ...process.env, GOBIN: cachedCliDir(), CGO_ENABLED: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const tail: string[] = [];
      const collect = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          log(line);
        }
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install failed (${code}):\n${tail.join('\n')}`))));
    });
  } catch (err) {
    log(`${(err as Error).message}\nfalling back to the SDK download`);
    return undefined;
  }
  return (await isExecutable(cached)) ? cached : undefined;
}

export interface TemporalDevServerOptions {
  /** SQLite file; undefined keeps everything in memory. */
  dbFilename?: string;
  /** Default 7233; 0 picks a free port. */
  port?: number;
  /** Default port + 1000; ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  ip?: string;
  log?: Log;
}

export interface RunningTemporalServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `temporal server start-dev` and resolves once it answers, with our search attributes registered. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions = {}): Promise<RunningTemporalServer> {
  const log = opts.log ?? (() => {});
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 7233);
  const uiPort = opts.headless ? undefined : opts.uiPort === 0 ? await freePort() : (opts.uiPort ?? port + 1000);
  const address = `${ip}:${port}`;
  if (opts.dbFilename) await mkdir(path.dirname(opts.dbFilename), { recursive: true });
  const searchAttributes = Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES).map(([name, type]) => `${name}=${type}`);

  const cli = await findTemporalCli({ log });
  if (!cli) return startWithSdkDownload({ ...opts, ip, namespace, port, uiPort, searchAttributes });

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
  if (opts.dbFilename) {
    args.push('--db-filename', opts.dbFilename, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  }
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-ip', ip);
  for (const sa of searchAttributes) args.push('--search-attribute', sa);

  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      log(`temporal: ${line}`);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exitedPromise;
    clearTimeout(timer);
  };

  try {
    await waitForServer(address, () => (exited ? `the Temporal server exited:\n${tail.join('\n')}` : undefined));
    await registerSearchAttributes(address, namespace);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`Temporal dev server at ${address}${uiPort ? `, Web UI http://localhost:${uiPort}` : ''} (${cli})`);
  return { address, namespace, ...(uiPort ? { uiUrl: `http://localhost:${uiPort}` } : {}), stop };
}

async function waitForServer(address: string, failure: () => string | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const why = failure();
    if (why) throw new Error(why);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs / 1000} s: ${String(lastError)}`);
}

const INDEXED_VALUE_TYPES: Record<string, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };

/**
 * Registers every custom search attribute on the namespace, skipping those already there. Needed
 * because `--search-attribute` does nothing for a namespace that already exists in the SQLite file.
 */
export async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES).filter(([name]) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPES[type]!])),
      });
    } catch (err) {
      if (!/already exists/i.test(String((err as Error).message))) throw err;
    }
  } finally {
    await connection.close();
  }
}

/** Last resort, for machines with internet and neither the CLI nor Go: the SDK downloads the CLI. */
async function startWithSdkDownload(
  opts: TemporalDevServerOptions & { ip: string; namespace: string; port: number; uiPort: number | undefined; searchAttributes: string[] },
): Promise<RunningTemporalServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download', version: TEMPORAL_CLI_VERSION },
      ip: opts.ip,
      port: opts.port,
      namespace: opts.namespace,
      ui: opts.uiPort !== undefined,
      ...(opts.uiPort !== undefined ? { uiPort: opts.uiPort } : {}),
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      extraArgs: [
        ...(opts.dbFilename ? ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL'] : []),
        ...opts.searchAttributes.flatMap((sa) => ['--search-attribute', sa]),
      ],
    },
  });
  const address = `${opts.ip}:${opts.port}`;
  await registerSearchAttributes(address, opts.namespace);
  let stopped = false;
  return {
    address,
    namespace: opts.namespace,
    ...(opts.uiPort !== undefined ? { uiUrl: `http://localhost:${opts.uiPort}` } : {}),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await env.teardown();
    },
  };
}

/** True when a CLI is available without building (used to tell the user what will happen). */
export function hasCachedCli(): boolean {
  return existsSync(path.join(cachedCliDir(), 'temporal'));
}
