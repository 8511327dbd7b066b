/**
 * The mails about an invoice: questions sent to a supplier or department and the answers that came
 * back through the inbound endpoint, with their attachments. Visible to whoever may see the invoice.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { invoiceMessages, messageAttachments } from '../../db/schema';
import { currentUser, isUuid } from '../auth';
import { ApiError } from '../errors';
import { visibleInvoice } from '../invoices-service';
import type { ApiDocs } from '../openapi';

/**
 * Types a browser may show as they are; anything else (HTML, SVG, scripts...) is sent as
 * application/octet-stream: an attachment is the supplier's content and must never run on our origin.
 */
const SAFE_TYPES = new Set([
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'text/plain',
  'text/csv',
  'application/xml',
  'text/xml',
]);

const AttachmentView = z.object({
  position: z.number().int(),
  filename: z.string(),
  contentType: z.string(),
  size: z.number().int().openapi({ description: 'Bytes' }),
  url: z.string().openapi({ description: 'Where to download it (with the bearer token)' }),
});

const MessageView = z
  .object({
    id: z.uuid(),
    direction: z.enum(['out', 'in']).openapi({ description: 'out: sent to a supplier or department; in: an answer received' }),
    from: z.string(),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    at: z.iso.datetime({ offset: true }),
    attachments: z.array(AttachmentView),
  })
  .openapi('InvoiceMessage');

const MessageParams = z.object({ id: z.string() });
const AttachmentParams = z.object({ id: z.string(), messageId: z.string(), position: z.string() });

export function messagesRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/invoices/:id/messages', async (req, res) => {
    const invoice = await visibleInvoice(db, currentUser(res), req.params.id);
    const messages = await db
      .select()
      .from(invoiceMessages)
      .where(eq(invoiceMessages.invoiceId, invoice.id))
      .orderBy(asc(invoiceMessages.at), asc(invoiceMessages.id));
    const files =
      messages.length === 0
        ? []
        : await db
            .select({
              messageId: messageAttachments.messageId,
              position: messageAttachments.position,
              filename: messageAttachments.filename,
              contentType: messageAttachments.contentType,
              size: messageAttachments.size,
            })
            .from(messageAttachments)
            .where(
              inArray(
                messageAttachments.messageId,
                messages.map((m) => m.id),
              ),
            )
            .orderBy(asc(messageAttachments.messageId), asc(messageAttachments.position));
    res.json({
      items: messages.map((m) => ({
        id: m.id,
        direction: m.direction,
        from: m.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        at: m.at.toISOString(),
        attachments: files
          .filter((f) => f.messageId === m.id)
          .map(({ messageId: _m, ...f }) => ({ ...f, url: `/api/v1/invoices/${invoice.id}/messages/${m.id}/attachments/${f.position}` })),
      })),
    });
  });

  router.get('/invoices/:id/messages/:messageId/attachments/:position', async (req, res) => {
    const invoice = await visibleInvoice(db, currentUser(res), req.params.id);
    const position = /^[1-9]\d{0,5}$/.test(req.params.position) ? Number.parseInt(req.params.position, 10) : undefined;
    if (!isUuid(req.params.messageId) || position === undefined) throw ApiError.notFound('attachment');
    const [file] = await db
      .select({ attachment: messageAttachments })
      .from(messageAttachments)
      .innerJoin(invoiceMessages, eq(invoiceMessages.id, messageAttachments.messageId))
      .where(
        and(
          eq(messageAttachments.messageId, req.params.messageId),
          eq(messageAttachments.position, position),
          eq(invoiceMessages.invoiceId, invoice.id),
        ),
      );
    if (!file) throw ApiError.notFound('attachment');
    const a = file.attachment;
    const type = a.contentType.toLowerCase().split(';')[0]!.trim();
    const ascii = a.filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
    res
      .type(SAFE_TYPES.has(type) ? type : 'application/octet-stream')
      .set('Content-Disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(a.filename)}`)
      .send(a.content);
  });

  return router;
}

export const messagesDocs: ApiDocs = (d) => {
  const unknown = d.error('Unknown or not visible');
  d.path('Invoices', 'get', '/invoices/:id/messages', {
    summary: 'Mails about the invoice: questions sent to the supplier or a department and their answers, oldest first',
    request: { params: MessageParams },
    responses: { 200: d.json(z.object({ items: z.array(MessageView) }), 'The messages'), ...d.common, 404: unknown },
  });
  d.path('Invoices', 'get', '/invoices/:id/messages/:messageId/attachments/:position', {
    summary: 'One attachment of a message, as received (a type a browser could run is sent as application/octet-stream)',
    request: { params: AttachmentParams },
    responses: { 200: { description: 'The attachment, with Content-Disposition: attachment' }, ...d.common, 404: unknown },
  });
};
