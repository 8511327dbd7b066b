/**
 * The real Temporal dev server for development and tests: finds (or builds) the Temporal CLI,
 * starts `temporal server start-dev`, and registers our search attributes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_CLI_TYPES, searchAttributes } from '../workflows/definitions';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;
const START_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 10_000;
/** gRPC status ALREADY_EXISTS (grpc-js is not a direct dependency, so no enum import). */
const GRPC_ALREADY_EXISTS = 6;

type Log = (m: string) => void;
const quiet: Log = () => {};

/** `${XDG_CACHE_HOME ?? ~/.cache}/invoiceflow`, or INVOICEFLOW_CACHE_DIR. Outside the repo. */
export function cacheRoot(): string {
  if (process.env.INVOICEFLOW_CACHE_DIR) return process.env.INVOICEFLOW_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'invoiceflow');
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

async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.F_OK);
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

/** Sends each line of a child's output to `onLine`; reading also keeps the pipe from filling up. */
function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    if (line.trim()) onLine(line);
  });
}

/** The last `size` lines seen, for error messages. */
export function lineTail(size: number): { push(line: string): void; text(): string } {
  const lines: string[] = [];
  return {
    push: (line) => {
      lines.push(line);
      if (lines.length > size) lines.shift();
    },
    text: () => lines.join('\n'),
  };
}

/**
 * The Temporal CLI, in this order: TEMPORAL_CLI_PATH; `temporal` on PATH; the cached build; a
 * fresh `go install` into the cache (when Go is there and `build` is not false). Undefined when
 * none works, so the caller can fall back to the SDK's own download. An explicit TEMPORAL_CLI_PATH
 * that is not an executable file throws: that is a configuration mistake, not a reason to build.
 */
export async function findTemporalCli(opts: { log?: Log; build?: boolean } = {}): Promise<string | undefined> {
  const log = opts.log ?? quiet;
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    const why = (await fileExists(explicit)) ? 'is not executable' : 'does not exist';
    throw new Error(`TEMPORAL_CLI_PATH=${explicit} ${why}; point it to the Temporal CLI binary or unset it`);
  }
  const fromPath = await onPath('temporal');
  if (fromPath) return fromPath;
  const cached = path.join(cachedCliDir(), 'temporal');
  if (await isExecutable(cached)) return cached;
  if (opts.build === false) return undefined;
  const go = await onPath('go');
  if (!go) {
    log('Temporal CLI not found and Go is not installed');
    return undefined;
  }
  try {
    await goInstallCli(go, log);
  } catch (err) {
    log((err as Error).message);
    return undefined;
  }
  return (await isExecutable(cached)) ? cached : undefined;
}

/** `go install` into the cache; pure-Go SQLite, so no C compiler is needed (CGO_ENABLED=0). */
async function goInstallCli(go: string, log: Log): Promise<void> {
  const dir = cachedCliDir();
  await mkdir(dir, { recursive: true });
  log(`building the Temporal CLI with "go install ${CLI_MODULE}" into ${dir} (takes several minutes, once)`);
  const started = Date.now();
  const tail = lineTail(20);
  const child = spawn(go, ['install', CLI_MODULE], {
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onLine = (line: string) => {
    tail.push(line);
    log(line);
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`go install ${CLI_MODULE} failed (exit ${code}):\n${tail.text()}`);
  log(`built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s`);
}

export interface TemporalDevServerOptions {
  /** SQLite file; undefined keeps everything in memory. Its directory is created when missing. */
  dbFilename?: string;
  /** Default 7233; 0 picks a free port. */
  port?: number;
  /** Default port + 1000 (a free port when `port` is 0); ignored when headless. */
  uiPort?: number;
  /** No Web UI. */
  headless?: boolean;
  /** Default 'default'. */
  namespace?: string;
  /** Default 127.0.0.1. */
  ip?: string;
  log?: Log;
}

export interface RunningTemporalServer {
  /** host:port of the frontend gRPC service. */
  address: string;
  namespace: string;
  /** Absent when headless. */
  uiUrl?: string;
  /** Stops the server and waits for it to exit; safe to call more than once. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on `host` (the usual bind-to-0 trick; a small race remains). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** `host:port`, with brackets for IPv6, and a wildcard bind address replaced by one clients can dial. */
function dialable(ip: string, port: number): string {
  const host = ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '::1' : ip;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

interface ResolvedOptions {
  dbFilename?: string;
  ip: string;
  port: number;
  uiPort?: number;
  namespace: string;
  log: Log;
}

async function resolveOptions(opts: TemporalDevServerOptions): Promise<ResolvedOptions> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port === 0 ? await freePort(ip) : (opts.port ?? 7233);
  // port + 1000 of a random port may be taken or above 65535, so a random port gets a random UI port.
  const uiPort = opts.headless
    ? undefined
    : opts.uiPort === 0 || (opts.uiPort === undefined && opts.port === 0)
      ? await freePort(ip)
      : (opts.uiPort ?? port + 1000);
  if (opts.dbFilename) await mkdir(path.dirname(path.resolve(opts.dbFilename)), { recursive: true });
  return { dbFilename: opts.dbFilename, ip, port, uiPort, namespace: opts.namespace ?? 'default', log: opts.log ?? quiet };
}

/** The `--sqlite-pragma` flags: WAL with synchronous=NORMAL is about 10× the default file throughput. */
function sqlitePragmaArgs(dbFilename: string | undefined): string[] {
  return dbFilename ? ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL'] : [];
}

function searchAttributeArgs(): string[] {
  return Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}

function startDevArgs(o: ResolvedOptions): string[] {
  return [
    'server',
    'start-dev',
    ...(o.dbFilename ? ['--db-filename', o.dbFilename] : []),
    ...sqlitePragmaArgs(o.dbFilename),
    '--ip',
    o.ip,
    '--port',
    String(o.port),
    ...(o.uiPort === undefined ? ['--headless'] : ['--ui-port', String(o.uiPort)]),
    '--namespace',
    o.namespace,
    '--log-level',
    'warn',
    ...searchAttributeArgs(),
  ];
}

/**
 * Starts `temporal server start-dev` and resolves once the namespace answers (and the Web UI, unless
 * headless), with our search attributes registered. Without a CLI it falls back to the SDK's
 * download, which needs internet.
 */
export async function startTemporalDevServer(opts: TemporalDevServerOptions = {}): Promise<RunningTemporalServer> {
  const o = await resolveOptions(opts);
  const cli = await findTemporalCli({ log: o.log });
  if (!cli) return startWithSdkDownload(o);

  const started = Date.now();
  const server = spawnServer(cli, startDevArgs(o), o.log);
  const address = dialable(o.ip, o.port);
  const uiUrl = o.uiPort === undefined ? undefined : `http://${dialable(o.ip, o.uiPort)}`;
  try {
    await waitUntilReady(address, o.namespace, uiUrl, server.exited);
    await registerSearchAttributes(address, o.namespace);
  } catch (err) {
    await server.stop();
    throw err;
  }
  o.log(`Temporal dev server at ${address}${uiUrl ? `, Web UI ${uiUrl}` : ''} ready in ${Date.now() - started} ms (${cli})`);
  return { address, namespace: o.namespace, ...(uiUrl ? { uiUrl } : {}), stop: server.stop };
}

interface ServerProcess {
  /** Resolves, with why and the last output lines, once the process is gone. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

function spawnServer(cli: string, args: string[], log: Log): ServerProcess {
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = lineTail(30);
  const onLine = (line: string) => {
    tail.push(line);
    log(`temporal: ${line}`);
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);

  const exited = new Promise<string>((resolve) => {
    // 'error' without 'exit' when the binary cannot be run at all.
    child.once('error', (err) => resolve(`could not run ${cli}: ${err.message}`));
    // 'close' rather than 'exit': by then the output is read, so the tail holds the fatal line.
    child.once('close', (code, signal) =>
      resolve(`the Temporal server exited (${signal ?? `code ${code}`}); its last output:\n${tail.text()}`),
    );
  });
  // A parent that exits without stop() (a crashed test run, process.exit) must not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= terminate(child, exited));
  return { exited, stop };
}

/** SIGTERM, then SIGKILL if the process is still there after KILL_AFTER_MS; resolves once it exited. */
async function terminate(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    await exited;
    clearTimeout(timer);
  }
  await exited;
}

/** The server process is gone: no point polling on. */
class ServerExited extends Error {}

/** Polls until the namespace is described (and the Web UI answers); fails as soon as the process dies. */
async function waitUntilReady(address: string, namespace: string, uiUrl: string | undefined, exited: Promise<string>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const died = exited.then((why) => Promise.reject(new ServerExited(why)));
  died.catch(() => {}); // observed by the races below; this only silences the unhandled-rejection warning
  let lastError: unknown;
  const poll = async (check: () => Promise<unknown>) => {
    while (Date.now() < deadline) {
      try {
        await Promise.race([check(), died]);
        return;
      } catch (err) {
        if (err instanceof ServerExited) throw err;
        lastError = err;
      }
      await Promise.race([new Promise((r) => setTimeout(r, 250)), died]);
    }
    throw new Error(`Temporal at ${address} did not become ready within ${START_TIMEOUT_MS / 1000} s: ${String(lastError)}`);
  };
  await poll(() => namespaceAnswers(address, namespace));
  if (uiUrl) await poll(() => httpAnswers(uiUrl));
}

/** A fresh connection per attempt: grpc-js backs off between reconnects, and a failed connect is not closed for us. */
async function namespaceAnswers(address: string, namespace: string): Promise<void> {
  const connection = Connection.lazy({ address, connectTimeout: 2_000 });
  try {
    await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.describeNamespace({ namespace }));
  } finally {
    await connection.close();
  }
}

/** Any HTTP answer will do: the UI is serving. */
async function httpAnswers(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
}

/** CLI type names (as in SEARCH_ATTRIBUTE_CLI_TYPES) to the API's IndexedValueType numbers. */
const INDEXED_VALUE_TYPES: Record<string, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };

function indexedValueType(name: string, cliType: string): number {
  const type = INDEXED_VALUE_TYPES[cliType];
  if (type === undefined) throw new Error(`search attribute ${name} has unknown type ${cliType}`);
  return type;
}

/**
 * Registers every custom search attribute on the namespace, skipping those already there. Needed
 * because `--search-attribute` does nothing for a namespace that already exists in the SQLite file.
 */
export async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = existing.customAttributes ?? {};
    const missing = Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES).filter(([name]) => !(name in known));
    if (missing.length === 0) return;
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, indexedValueType(name, type)])),
      });
    } catch (err) {
      // Another process registered them between our list and add.
      if (!(isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS)) throw err;
    }
  } finally {
    await connection.close();
  }
}

/**
 * Last resort, for machines with internet but neither the CLI nor Go: the SDK downloads the CLI.
 * Note that it creates the SDK's default Runtime, so a later `Runtime.install` in the same process fails.
 */
async function startWithSdkDownload(o: ResolvedOptions): Promise<RunningTemporalServer> {
  o.log(`no Temporal CLI found: letting the SDK download Temporal CLI ${TEMPORAL_CLI_VERSION} (needs internet)`);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  let env: Awaited<ReturnType<typeof TestWorkflowEnvironment.createLocal>>;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', version: TEMPORAL_CLI_VERSION },
        ip: o.ip,
        port: o.port,
        ui: o.uiPort !== undefined,
        ...(o.uiPort !== undefined ? { uiPort: o.uiPort } : {}),
        namespace: o.namespace,
        ...(o.dbFilename ? { dbFilename: o.dbFilename } : {}),
        searchAttributes: Object.values(searchAttributes),
        extraArgs: sqlitePragmaArgs(o.dbFilename),
      },
    });
  } catch (err) {
    throw new Error(
      `No Temporal CLI: set TEMPORAL_CLI_PATH, put \`temporal\` on PATH, or install Go to build it; the SDK download failed too: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const address = dialable(o.ip, o.port);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= env.teardown());
  try {
    await registerSearchAttributes(address, o.namespace);
  } catch (err) {
    await stop();
    throw err;
  }
  const uiUrl = o.uiPort === undefined ? undefined : `http://${dialable(o.ip, o.uiPort)}`;
  return { address, namespace: o.namespace, ...(uiUrl ? { uiUrl } : {}), stop };
}
