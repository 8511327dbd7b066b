/**
 * Recorded workflow histories for the replay test. `RECORD_HISTORIES=1 npm test` rewrites them
 * from the integration tests' real runs; commit them when the workflow changes on purpose (with
 * `patched()` for running invoices), never to make a failing replay pass.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { findTemporalCli } from '../scripts/temporal-server';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

/** Saves the handle's history as `test/histories/<name>.json` when RECORD_HISTORIES=1. */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const cli = await findTemporalCli({ build: false });
  if (!cli) throw new Error('recording histories needs the Temporal CLI');
  // The same JSON as the Web UI's history download.
  const { stdout } = await promisify(execFile)(
    cli,
    ['workflow', 'show', '--workflow-id', handle.workflowId, '--output', 'json', '--address', process.env.TEST_TEMPORAL_ADDRESS!],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  await mkdir(HISTORIES_DIR, { recursive: true });
  await writeFile(path.join(HISTORIES_DIR, `${name}.json`), stdout);
}

export async function loadHistories(): Promise<{ workflowId: string; history: unknown }[]> {
  const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (f) => ({
      workflowId: path.basename(f, '.json'),
      history: JSON.parse(await readFile(path.join(HISTORIES_DIR, f), 'utf8')) as unknown,
    })),
  );
}
