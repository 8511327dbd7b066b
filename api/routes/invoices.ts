import { Router } from 'express';
import { currentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import { createInvoice, invoiceDetail, listInvoices, performAction, type ServiceDeps } from '../invoices-service';
import { ApprovalBody, InvoiceIntake, InvoiceListQuery, RejectBody } from '../schemas';

export function invoicesRouter(deps: ServiceDeps): Router {
  const router = Router();

  router.post('/invoices', async (req, res) => {
    if (!req.is('application/json')) {
      throw new ApiError(415, 'unsupported_media_type', 'Send the invoice as application/json');
    }
    const input = parseOr422(InvoiceIntake, req.body, 'invoice');
    const created = await createInvoice(deps, currentUser(res), input);
    res.status(201).location(`/api/v1/invoices/${created.id}`).json(created);
  });

  router.get('/invoices', async (req, res) => {
    const query = parseOr422(InvoiceListQuery, req.query, 'query');
    res.json(await listInvoices(deps.db, currentUser(res), query));
  });

  router.get('/invoices/:id', async (req, res) => {
    res.json(await invoiceDetail(deps.db, currentUser(res), req.params.id));
  });

  router.post('/invoices/:id/actions/:action', async (req, res) => {
    const user = currentUser(res);
    const updateId = req.get('idempotency-key') ? `${user.id}:${req.get('idempotency-key')}` : undefined;
    const body: unknown = req.body ?? {};
    switch (req.params.action) {
      case 'approve': {
        const { comment } = parseOr422(ApprovalBody, body, 'approval');
        res.json(await performAction(deps, user, req.params.id, { kind: 'approve', comment }, updateId));
        return;
      }
      case 'reject': {
        const { reason } = parseOr422(RejectBody, body, 'rejection');
        res.json(await performAction(deps, user, req.params.id, { kind: 'reject', reason }, updateId));
        return;
      }
      default:
        throw new ApiError(404, 'not_found', `Unknown action "${req.params.action}"`);
    }
  });

  return router;
}
