import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ApprovalBody, ErrorBody, InvoiceIntake, InvoiceListQuery, RejectBody, WorkQueueQuery } from './schemas';

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function openApiDocument() {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  const security = [{ [bearer.name]: [] }];
  const error = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });
  const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
  const id = z.object({ id: z.uuid() });
  const action = z.object({ stage: z.string(), moved: z.boolean(), message: z.string() });

  registry.registerPath({
    method: 'post',
    path: '/api/v1/invoices',
    summary: 'Register an invoice and start its workflow',
    security,
    request: { body: { content: { 'application/json': { schema: InvoiceIntake } } } },
    responses: {
      201: json(z.object({ id: z.uuid(), workflowId: z.string(), stage: z.string() }), 'Registered'),
      400: error('Malformed JSON'),
      401: error('No valid token'),
      409: error('Duplicate: same company, vendor and invoice number (details carry existingId)'),
      422: error('Invalid invoice; details list every problem'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/invoices',
    summary: 'List invoices',
    security,
    request: { query: InvoiceListQuery },
    responses: { 200: json(z.object({ items: z.array(z.unknown()), nextCursor: z.string().nullable() }), 'A page') },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/invoices/{id}',
    summary: 'One invoice: header, lines, coding rows with signatures, tasks, audit trail, posting',
    security,
    request: { params: id },
    responses: { 200: json(z.unknown(), 'The invoice'), 404: error('Unknown or not visible') },
  });
  for (const [name, body] of [
    ['approve', ApprovalBody],
    ['reject', RejectBody],
  ] as const) {
    registry.registerPath({
      method: 'post',
      path: `/api/v1/invoices/{id}/actions/${name}`,
      summary: `${name} the invoice's open task as the caller`,
      security,
      request: { params: id, body: { content: { 'application/json': { schema: body } } } },
      responses: {
        200: json(action, 'Accepted'),
        403: error('Not your task'),
        404: error('Unknown or not visible'),
        409: error('Refused by the workflow; the message says why'),
        422: error('Invalid body'),
      },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/api/v1/work-queue',
    summary: "The caller's tasks",
    security,
    request: { query: WorkQueueQuery },
    responses: { 200: json(z.object({ items: z.array(z.unknown()), nextCursor: z.string().nullable() }), 'A page') },
  });
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'invoiceflow', version: '0.1.0', description: 'Durable invoice approval on Temporal' },
    servers: [{ url: '/' }],
  });
}
