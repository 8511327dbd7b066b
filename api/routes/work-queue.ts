import { Router } from 'express';
import { currentUser } from '../auth';
import { parseOr422 } from '../errors';
import { workQueue, type ServiceDeps } from '../invoices-service';
import type { Logger } from '../../lib/logger';
import { prepareBatch, runBatch } from '../batch-service';
import { BatchBody, WorkQueueQuery } from '../schemas';

export function workQueueRouter(deps: ServiceDeps & { clock: () => Date; log: Logger }): Router {
  const router = Router();
  router.get('/work-queue', async (req, res) => {
    const query = parseOr422(WorkQueueQuery, req.query, 'query');
    const today = deps.clock().toISOString().slice(0, 10);
    res.json(await workQueue(deps.db, currentUser(res), query, today));
  });
  router.post('/work-queue/batch', async (req, res) => {
    const user = currentUser(res);
    const body = parseOr422(BatchBody, req.body, 'batch');
    const today = deps.clock().toISOString().slice(0, 10);
    const invoiceIds = await prepareBatch(deps, user, body, today);
    const key = req.get('idempotency-key');
    const batchId = key ? `key:${key}` : undefined;
    if (req.accepts(['application/json', 'application/x-ndjson']) === 'application/x-ndjson') {
      // Progress for large batches: one line per invoice as it completes, then a summary.
      res.status(200).type('application/x-ndjson');
      res.write(`${JSON.stringify({ total: invoiceIds.length })}\n`);
      const { results } = await runBatch(deps, user, body, invoiceIds, {
        ...(batchId ? { batchId } : {}),
        onResult: (result, index, ms) => res.write(`${JSON.stringify({ index, ms, ...result })}\n`),
      });
      res.end(`${JSON.stringify({ done: true, ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length })}\n`);
      return;
    }
    const { results } = await runBatch(deps, user, body, invoiceIds, batchId ? { batchId } : {});
    res.json({ results });
  });

  return router;
}
