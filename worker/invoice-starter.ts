/**
 * Starts the workflows that intake could not start (Temporal was away when the invoice
 * committed). Runs beside the worker; a start is idempotent by workflow id, so several workers
 * and a late intake never start an invoice twice.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import { startInvoiceWorkflow, unstartedInvoices } from '../lib/invoice-workflows';
import type { Logger } from '../lib/logger';
import { startPoller, type Poller } from '../lib/poller';

export function startInvoiceStarter(opts: {
  db: Db;
  temporal: Client;
  log: Logger;
  /** How often to look; default 5 s. */
  intervalMs?: number;
  /** How old an unstarted invoice must be, so intake's own start goes first; default 10 s. */
  graceMs?: number;
}): Poller {
  const { db, temporal, log } = opts;
  async function runOnce(): Promise<number> {
    let started = 0;
    for (const id of await unstartedInvoices(db, opts.graceMs ?? 10_000)) {
      if (await startInvoiceWorkflow(db, temporal, id)) started += 1;
      else return started; // Temporal still away: try again next round
    }
    if (started > 0) log.info({ started }, 'started invoice workflows that intake could not start');
    return started;
  }

  return startPoller({ what: 'starting invoice workflows', log, intervalMs: opts.intervalMs ?? 5000, round: runOnce });
}
