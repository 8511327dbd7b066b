import { Router } from 'express';
import { currentUser } from '../auth';
import { parseOr422 } from '../errors';
import { workQueue, type ServiceDeps } from '../invoices-service';
import type { Logger } from '../../lib/logger';
import { answerBatch, prepareBatch, queueAction } from '../batch-service';
import { z } from 'zod';
import type { ApiDocs } from '../openapi';
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
    await answerBatch(deps, user, queueAction(body), invoiceIds, req, res);
  });

  return router;
}

/** The work-queue routes in the OpenAPI document. */
export const workQueueDocs: ApiDocs = (d) => {
  d.path('Work queue', 'get', '/work-queue', {
    summary: "The caller's tasks: personal, credit-memo or past-due queue, open or done",
    request: { query: WorkQueueQuery },
    responses: { 200: d.page(), ...d.common, 422: d.error('Invalid query') },
  });
  d.path('Work queue', 'post', '/work-queue/batch', {
    summary:
      'Approve, send to exceptions review or leave (not mine) several invoices; one result each (NDJSON progress with Accept: application/x-ndjson)',
    request: { body: d.body(BatchBody) },
    responses: {
      200: d.json(
        z.object({
          results: z.array(
            z.object({
              invoiceId: z.uuid(),
              ok: z.boolean(),
              moved: z.boolean().optional(),
              stage: z.string().optional(),
              reason: z.string().optional(),
            }),
          ),
        }),
        'One result per invoice, in the order given',
      ),
      ...d.common,
      403: d.error('Batch actions (or "all") are switched off for the company'),
      422: d.error('Invalid body'),
    },
  });
};
