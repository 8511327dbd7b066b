import { Router } from 'express';
import { currentUser } from '../auth';
import { parseOr422 } from '../errors';
import { workQueue, type ServiceDeps } from '../invoices-service';
import { WorkQueueQuery } from '../schemas';

export function workQueueRouter(deps: ServiceDeps & { clock: () => Date }): Router {
  const router = Router();
  router.get('/work-queue', async (req, res) => {
    const query = parseOr422(WorkQueueQuery, req.query, 'query');
    const today = deps.clock().toISOString().slice(0, 10);
    res.json(await workQueue(deps.db, currentUser(res), query, today));
  });
  return router;
}
