import { Router } from 'express';
import { currentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import type { Request } from 'express';
import { createInvoice, invoiceDetail, invoiceDocument, listInvoices, performAction, type ServiceDeps } from '../invoices-service';
import { ublIntakeRequest } from '../ubl-intake';
import { ApprovalBody, InvoiceIntake, InvoiceListQuery, RejectBody } from '../schemas';

export function invoicesRouter(deps: ServiceDeps): Router {
  const router = Router();

  router.post('/invoices', async (req, res) => {
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw new ApiError(400, 'bad_idempotency_key', 'Idempotency-Key must be 1 to 200 visible ASCII characters');
    }
    let request;
    if (req.is('application/json')) {
      request = {
        invoice: parseOr422(InvoiceIntake, req.body, 'invoice'),
        document: { contentType: 'application/json', bytes: rawBody(req) },
      };
    } else if (req.is(['application/xml', 'text/xml'])) {
      if (!Buffer.isBuffer(req.body)) throw new ApiError(400, 'malformed_xml', 'The request has no XML body');
      request = ublIntakeRequest(req.body, 'application/xml');
    } else {
      throw new ApiError(
        415,
        'unsupported_media_type',
        'Send the invoice as application/json, or as UBL 2.1 with Content-Type application/xml',
      );
    }
    const created = await createInvoice(deps, currentUser(res), { ...request, idempotencyKey });
    res.status(201).location(`/api/v1/invoices/${created.id}`).json(created);
  });

  router.get('/invoices/:id/document', async (req, res) => {
    const document = await invoiceDocument(deps.db, currentUser(res), req.params.id);
    res
      .status(200)
      .type(document.contentType)
      .set('Content-Disposition', `attachment; filename="${document.filename}"`)
      .set('X-Content-SHA256', document.sha256)
      .send(document.content);
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

/** The JSON body exactly as received (kept by the JSON parser's verify hook in app.ts). */
function rawBody(req: Request): Buffer {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  return raw ?? Buffer.from(JSON.stringify(req.body));
}
