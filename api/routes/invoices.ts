import { Router } from 'express';
import { currentUser } from '../auth';
import { ApiError, parseOr422 } from '../errors';
import type { Request } from 'express';
import type { Logger } from '../../lib/logger';
import { answerBatch } from '../batch-service';
import {
  BULK_REVIEW_LIMIT,
  changeCoding,
  createInvoice,
  invoiceDetail,
  invoiceDocument,
  listInvoices,
  performAction,
  selectInvoices,
  startFromInbox,
  type ServiceDeps,
} from '../invoices-service';
import { ublIntakeRequest } from '../ubl-intake';
import { ACTION_BODIES } from '../../workflows/payloads';
import { z } from 'zod';
import { idParam, type ApiDocs } from '../openapi';
import type { ActionName } from '../../workflows/definitions';
import {
  ApprovalBody,
  BulkReviewBody,
  CodingBody,
  DelegateBody,
  ExceptionsReviewBody,
  InvoiceIntake,
  InvoiceListQuery,
  MAX_LINES,
  NotMineBody,
  OverrideReviewBody,
  ReassignBody,
  RejectBody,
  ResolveExceptionBody,
  RefreshBody,
  RestartBody,
  ReviewAgainBody,
} from '../schemas';

/** URL names of the actions a user takes on one invoice, with their body schemas. */
const actions: Record<string, { name: ActionName; body: z.ZodType<Record<string, unknown>> }> = {
  approve: { name: 'approve', body: ApprovalBody },
  reject: { name: 'reject', body: RejectBody },
  delegate: { name: 'delegate', body: DelegateBody },
  'not-mine': { name: 'notMine', body: NotMineBody },
  'exceptions-review': { name: 'exceptionsReview', body: ExceptionsReviewBody },
  'resolve-exception': { name: 'resolveException', body: ResolveExceptionBody },
};

/** The admins' actions: URL name, action, body schema. */
const adminActions = [
  ['restart', 'restart', RestartBody],
  ['reassign', 'reassign', ReassignBody],
  ['refresh', 'refresh', RefreshBody],
] as const;

export function invoicesRouter(deps: ServiceDeps & { log: Logger }): Router {
  const router = Router();

  router.post('/invoices', async (req, res) => {
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw new ApiError(400, 'bad_idempotency_key', 'Idempotency-Key must be 1 to 200 visible ASCII characters');
    }
    let request;
    if (req.is('application/json')) {
      const lines = (req.body as { lines?: unknown })?.lines;
      if (Array.isArray(lines) && lines.length > MAX_LINES) {
        throw new ApiError(413, 'too_many_lines', `An invoice has at most ${MAX_LINES} lines; this one has ${lines.length}`);
      }
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
    const lines = request.invoice.lines.length;
    if (lines > MAX_LINES) throw new ApiError(413, 'too_many_lines', `An invoice has at most ${MAX_LINES} lines; this one has ${lines}`);
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

  router.get('/inbox', async (req, res) => {
    const query = parseOr422(InboxQuery, req.query, 'query');
    res.json(await listInvoices(deps.db, currentUser(res), { ...query, inbox: true }));
  });

  router.post('/invoices/:id/start', async (req, res) => {
    res.json(await startFromInbox(deps, currentUser(res), req.params.id));
  });

  router.get('/invoices/:id', async (req, res) => {
    const detail = await invoiceDetail(deps.db, currentUser(res), req.params.id);
    res.set('ETag', codingTag(detail.codingVersion)).json(detail);
  });

  router.post('/invoices/:id/review', async (req, res) => {
    const user = currentUser(res);
    const payload = parseOr422(ReviewAgainBody, req.body ?? {}, 'review');
    res.json(
      await performAction(deps, user, req.params.id, 'reviewAgain', payload, updateIdOf(req, user.id, req.params.id, 'reviewAgain')),
    );
  });

  router.put('/invoices/:id/review', async (req, res) => {
    const user = currentUser(res);
    const payload = parseOr422(OverrideReviewBody, req.body ?? {}, 'review');
    res.json(
      await performAction(deps, user, req.params.id, 'overrideReview', payload, updateIdOf(req, user.id, req.params.id, 'overrideReview')),
    );
  });

  router.post('/invoices/review', async (req, res) => {
    const user = currentUser(res);
    const body = parseOr422(BulkReviewBody, req.body, 'bulk review');
    const invoiceIds = body.invoiceIds ?? (await selectInvoices(deps.db, user, body.filter ?? {}, BULK_REVIEW_LIMIT));
    await answerBatch(
      deps as ServiceDeps & { log: Logger },
      user,
      { action: 'reviewAgain', payload: {}, withTaskIds: false },
      invoiceIds,
      req,
      res,
    );
  });

  router.patch('/invoices/:id/coding', async (req, res) => {
    const user = currentUser(res);
    const version = versionOf(req.get('if-match'));
    const body = parseOr422(CodingBody, { ...(req.body ?? {}), version }, 'coding');
    const result = await changeCoding(deps, user, req.params.id, body);
    const detail = await invoiceDetail(deps.db, user, req.params.id);
    res
      .set('ETag', codingTag(detail.codingVersion))
      .json({ ...result, codingVersion: detail.codingVersion, codingRows: detail.codingRows });
  });

  router.post('/invoices/:id/actions/:action', async (req, res) => {
    const action = Object.hasOwn(actions, req.params.action) ? actions[req.params.action] : undefined;
    if (!action) throw new ApiError(404, 'not_found', `Unknown action "${req.params.action}"`);
    const user = currentUser(res);
    const payload = parseOr422(action.body, req.body ?? {}, req.params.action);
    res.json(await performAction(deps, user, req.params.id, action.name, payload, updateIdOf(req, user.id, req.params.id, action.name)));
  });

  for (const [path, name, body] of adminActions) {
    router.post(`/admin/invoices/:id/${path}`, async (req, res) => {
      const user = currentUser(res);
      if (!user.roles.includes('admin')) throw new ApiError(403, 'forbidden', `Only an admin may ${path} an invoice`);
      const payload = parseOr422(body as z.ZodType<Record<string, unknown>>, req.body ?? {}, path);
      res.json(await performAction(deps, user, req.params.id, name, payload, updateIdOf(req, user.id, req.params.id, name)));
    });
  }

  return router;
}

/** The ETag of an invoice: its coding version, which `PATCH /invoices/:id/coding` must name in If-Match. */
function codingTag(version: number): string {
  return `"coding-${version}"`;
}

/** The coding version an If-Match names; 428 without one, 412 for one that is not ours at all. */
function versionOf(ifMatch: string | undefined): number {
  if (ifMatch === undefined) {
    throw new ApiError(428, 'precondition_required', 'Send If-Match with the ETag of the invoice you edited (GET /invoices/:id)');
  }
  const match = /^(?:W\/)?"coding-(\d{1,9})"$/.exec(ifMatch.trim());
  if (!match) throw new ApiError(412, 'stale_version', "If-Match does not name a version of this invoice's coding; reload it");
  return Number.parseInt(match[1]!, 10);
}

/** The JSON body exactly as received (kept by the JSON parser's verify hook in app.ts). */
function rawBody(req: Request): Buffer {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  return raw ?? Buffer.from(JSON.stringify(req.body));
}

/**
 * An Idempotency-Key makes a retried action the same Update (the server answers it once). The
 * key is scoped to the user, the invoice and the action, so reusing it for another action is a new one.
 */
function updateIdOf(req: Request, userId: string, invoiceId: string, action: ActionName): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(key))
    throw new ApiError(400, 'bad_idempotency_key', 'Idempotency-Key must be 1 to 200 visible ASCII characters');
  return `${userId}:${invoiceId}:${action}:${key}`;
}

const ActionResultBody = z.object({
  stage: z.string(),
  moved: z.boolean(),
  message: z.string(),
  openTask: z.object({ id: z.string(), stage: z.string(), assignees: z.array(z.string()) }).optional(),
});

const IntakeAnswer = z.object({
  id: z.uuid(),
  workflowId: z.string(),
  stage: z.string(),
  inbox: z.boolean().openapi({ description: 'Held in the inbox: its workflow waits for POST /invoices/:id/start' }),
});

/** The inbox's paging (the invoice list's, without filters). */
const InboxQuery = InvoiceListQuery.pick({ limit: true, cursor: true });

/** The invoice routes in the OpenAPI document. */
export const invoicesDocs: ApiDocs = (d) => {
  d.path('Invoices', 'post', '/invoices', {
    summary: 'Register an invoice (JSON, or UBL 2.1 as application/xml) and start its workflow',
    request: { body: { content: { 'application/json': { schema: InvoiceIntake }, 'application/xml': { schema: z.string() } } } },
    responses: {
      201: d.json(IntakeAnswer, 'Registered (and started, unless held in the inbox)'),
      400: d.error('Malformed JSON or XML'),
      ...d.common,
      409: d.error('Duplicate: same company, vendor and invoice number'),
      413: d.error('Too large'),
      415: d.error('Neither JSON nor XML'),
      422: d.error('Invalid invoice; details list every problem'),
    },
  });
  d.path('Invoices', 'get', '/invoices', {
    summary: "List invoices of the caller's company, newest first",
    request: { query: InvoiceListQuery },
    responses: { 200: d.page(), ...d.common, 422: d.error('Invalid query') },
  });
  d.path('Inbox', 'get', '/inbox', {
    summary: 'Invoices held in the inbox (intake with autoStart false, or the autoStart setting off), newest first',
    request: { query: InboxQuery },
    responses: { 200: d.page(), ...d.common, 422: d.error('Invalid query') },
  });
  d.path('Inbox', 'post', '/invoices/:id/start', {
    summary: 'Start the workflow of an invoice held in the inbox (clerks and admins); once',
    request: { params: idParam },
    responses: {
      200: d.json(IntakeAnswer, 'Started'),
      ...d.common,
      403: d.error('Neither clerk nor admin'),
      404: d.error('Unknown or not visible'),
      409: d.error('Not in the inbox: its workflow has started already'),
    },
  });
  d.path('Invoices', 'get', '/invoices/:id', {
    summary: 'One invoice: header, lines, coding rows with signatures, tasks, audit trail, posting',
    request: { params: idParam },
    responses: { 200: d.json(z.unknown(), 'The invoice'), ...d.common, 404: d.error('Unknown or not visible') },
  });
  d.path('Invoices', 'get', '/invoices/:id/document', {
    summary: 'The original document, byte for byte',
    request: { params: idParam },
    responses: { 200: { description: 'The document as received' }, ...d.common, 404: d.error('Unknown or not visible') },
  });
  d.path('Review', 'post', '/invoices/:id/review', {
    summary: 'Review the invoice again with the rules in force now',
    request: { params: idParam, body: d.body(ReviewAgainBody) },
    responses: {
      200: d.json(ActionResultBody, 'Reviewed'),
      ...d.common,
      404: d.error('Unknown or not visible'),
      409: d.error('Not reviewed automatically'),
    },
  });
  d.path('Review', 'put', '/invoices/:id/review', {
    summary: 'Mark the invoice correct by hand (permission review:override); it is not reviewed automatically afterwards',
    request: { params: idParam, body: d.body(OverrideReviewBody) },
    responses: {
      200: d.json(ActionResultBody, 'Marked correct'),
      ...d.common,
      403: d.error('Without the review:override permission'),
      404: d.error('Unknown or not visible'),
      422: d.error('Invalid body'),
    },
  });
  d.path('Review', 'post', '/invoices/review', {
    summary: 'Review several invoices again (ids or a filter); one result each, NDJSON progress with Accept: application/x-ndjson',
    request: { body: d.body(BulkReviewBody) },
    responses: {
      200: d.json(z.object({ results: z.array(z.unknown()) }), 'One result per invoice'),
      ...d.common,
      422: d.error('Invalid body'),
    },
  });
  d.path('Invoices', 'patch', '/invoices/:id/coding', {
    summary:
      "Replace the coding rows (new, review, rejected, exceptions review) as the task's assignee or an admin; If-Match: the invoice's ETag",
    request: {
      params: idParam,
      headers: z.object({ 'if-match': z.string() }),
      body: d.body(ACTION_BODIES.codingChanged.omit({ version: true })),
    },
    responses: {
      200: d.json(
        z.object({ stage: z.string(), message: z.string(), codingVersion: z.number(), codingRows: z.array(z.unknown()) }),
        'Saved',
      ),
      ...d.common,
      403: d.error("Not the task's assignee nor an admin"),
      404: d.error('Unknown or not visible'),
      409: d.error('The invoice is past the stages in which its coding may change'),
      412: d.error('Stale If-Match: the coding changed meanwhile'),
      422: d.error('Rows invalid or not adding up to net and tax; details give the difference'),
      428: d.error('No If-Match'),
    },
  });
  for (const [path, { name, body }] of Object.entries(actions)) {
    d.path('Actions', 'post', `/invoices/:id/actions/${path}`, {
      summary: `${name} on the invoice's open task, as the caller (optional taskId: the task the caller saw)`,
      request: { params: idParam, body: d.body(body) },
      responses: {
        200: d.json(ActionResultBody, 'Accepted'),
        ...d.common,
        403: d.error('Not your task'),
        404: d.error('Unknown or not visible'),
        409: d.error('Refused by the workflow (changed_concurrently, no_approval_rights, ...); the message says why'),
        422: d.error('Invalid body'),
        503: d.error('A lookup failed for now; nothing changed, try again (Retry-After)'),
      },
    });
  }
  for (const [path, , body] of adminActions) {
    d.path('Administration', 'post', `/admin/invoices/:id/${path}`, {
      summary: `${path} the invoice (admins)`,
      request: { params: idParam, body: d.body(body) },
      responses: {
        200: d.json(ActionResultBody, 'Accepted'),
        ...d.common,
        403: d.error('Not an admin'),
        404: d.error('Unknown or not visible'),
        409: d.error('Refused by the workflow; the message says why'),
        422: d.error('Invalid body'),
      },
    });
  }
};
