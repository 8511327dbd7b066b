/**
 * The inbound SMTP endpoint for suppliers' answers. A mail to a supplier or department carries the
 * Reply-To `replies+<token>@<REPLY_DOMAIN>` (lib/reply-address.ts); the answer arrives here. Only
 * such recipients are taken (others are refused at RCPT); the token is checked after the data,
 * and a forged or expired one is dropped and logged rather than refused, so a forger learns
 * nothing and no bounce goes to a spoofed sender. A good answer is stored on its invoice with its
 * attachments (one row per Message-ID and invoice: a redelivery is stored once), then the invoice's
 * workflow is told with the `supplierReplied` Update. A workflow that is gone or refuses leaves the
 * answer stored and the failure in the log and audit trail; Temporal or the database away answers
 * "try again later" (451), and the sender's retry finds the answer already stored.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Db } from '../db/client';
import { invoiceMessages, invoices, messageAttachments } from '../db/schema';
import { audit } from '../activities/audit';
import type { Logger } from '../lib/logger';
import { invoiceOfReplyAddress, type ReplyAddressing } from '../lib/reply-address';
import { supplierRepliedUpdate } from '../workflows/definitions';

export interface InboundMailOptions {
  db: Db;
  temporal: Client;
  log: Logger;
  /** 0 for a free port (tests). */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  addressing: ReplyAddressing;
  clock?: () => Date;
  /** Larger messages are refused (552); default 10 MB. */
  maxMessageBytes?: number;
  /** How long to wait for the workflow to take the answer before answering 451; default 30 s. */
  notifyTimeoutMs?: number;
}

export interface InboundMail {
  /** The port it listens on. */
  port: number;
  stop(): Promise<void>;
}

const MAX_RECIPIENTS = 20;

/** An error with the SMTP reply code the client sees. */
function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** Temporal or the database is away for now: the sender should try again later. */
class TryLater extends Error {}

/** Postgres text holds no NUL; everything else stays as sent. */
const clean = (s: string) => s.replace(/\0/g, '');

/** A file name without paths or control characters. */
function safeFilename(name: string | undefined, position: number): string {
  const base = clean(name ?? '')
    .split(/[\\/]/)
    .pop()!
    // eslint-disable-next-line no-control-regex -- control characters are what is removed
    .replace(/[\u0000-\u001f\u007f"]/g, '')
    .trim()
    .slice(0, 200);
  return base || `attachment-${position}`;
}

/** `Name <address>` of the From header (mailparser's own text quotes the name), else the envelope sender. */
function sender(mail: ParsedMail, envelopeFrom: string): string {
  const from = (mail.from?.value ?? [])
    .filter((a) => a.address)
    .map((a) => (a.name ? `${a.name.replace(/[\r\n<>"]/g, '')} <${a.address}>` : a.address!))
    .join(', ');
  return clean(from || envelopeFrom);
}

/** RFC 3834 auto-replies (out of office, vacation): kept on the invoice, but not an answer that resumes it. */
function isAutoReply(mail: ParsedMail): boolean {
  const auto = mail.headers.get('auto-submitted');
  if (typeof auto === 'string' && auto.trim().toLowerCase() !== 'no') return true;
  return mail.headers.has('x-autoreply') || mail.headers.has('x-autorespond');
}

/** Starts the endpoint; resolves once it listens. */
export async function startInboundMail(opts: InboundMailOptions): Promise<InboundMail> {
  const { db, temporal, log, addressing } = opts;
  const clock = opts.clock ?? (() => new Date());
  const maxBytes = opts.maxMessageBytes ?? 10 * 1024 * 1024;
  const notifyTimeoutMs = opts.notifyTimeoutMs ?? 30_000;
  const domain = addressing.domain.toLowerCase();

  /** Whether a recipient has the shape of our reply addresses (the token is checked after the data). */
  const ours = (address: string) => {
    const at = address.lastIndexOf('@');
    return at > 0 && address.slice(at + 1).toLowerCase() === domain && /^replies\+[^@\s]+$/i.test(address.slice(0, at));
  };

  async function dropped(recipient: string, reason: string, mail: ParsedMail, key: string): Promise<void> {
    const from = sender(mail, '');
    log.warn({ to: recipient, from, reason }, 'supplier answer dropped');
    // The invoice the token claims: when it exists, its company's audit trail says someone tried.
    const id = /^replies\+([0-9a-f]{32})\./i.exec(recipient)?.[1]?.toLowerCase();
    if (!id) return;
    const invoiceId = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    const [invoice] = await db
      .select({ companyId: invoices.companyId, invoiceNumber: invoices.invoiceNumber })
      .from(invoices)
      .where(eq(invoices.id, invoiceId));
    if (!invoice) return;
    await audit(db, {
      companyId: invoice.companyId,
      actor: 'inbound-mail',
      kind: 'supplier_reply_dropped',
      message: `A mail naming invoice ${invoice.invoiceNumber} was dropped (${reason}), from ${from || 'an unknown sender'}`,
      data: { invoiceId, reason, from, subject: mail.subject ?? '' },
      eventKey: `inbound-dropped:${createHash('sha256').update(`${key}\n${recipient}`).digest('hex')}`,
    });
  }

  /** Stores the answer on the invoice once; the id of its message row, new or found. */
  async function store(invoiceId: string, recipient: string, mail: ParsedMail, envelopeFrom: string, key: string) {
    return db.transaction(async (tx) => {
      const [invoice] = await tx
        .select({ companyId: invoices.companyId, workflowId: invoices.workflowId, invoiceNumber: invoices.invoiceNumber })
        .from(invoices)
        .where(eq(invoices.id, invoiceId));
      if (!invoice) return undefined;
      // One row per invoice and Message-ID: a redelivery finds it; the same mail to two invoices is on both.
      const messageKey = `${invoiceId} ${key}`;
      const from = sender(mail, envelopeFrom);
      const subject = clean(mail.subject ?? '');
      const [row] = await tx
        .insert(invoiceMessages)
        .values({
          companyId: invoice.companyId,
          invoiceId,
          direction: 'in',
          from,
          to: recipient,
          subject,
          text: clean(mail.text ?? ''),
          messageId: messageKey,
          // When it arrived: the sender's Date header is whatever the sender says.
          at: clock(),
        })
        .onConflictDoNothing({ target: invoiceMessages.messageId })
        .returning({ id: invoiceMessages.id });
      if (!row) {
        const [existing] = await tx
          .select({ id: invoiceMessages.id })
          .from(invoiceMessages)
          .where(eq(invoiceMessages.messageId, messageKey));
        return { messageId: existing!.id, created: false, invoice };
      }
      const files = mail.attachments.map((a, i) => ({
        messageId: row.id,
        position: i + 1,
        filename: safeFilename(a.filename, i + 1),
        contentType: clean(a.contentType || 'application/octet-stream').slice(0, 200),
        size: a.content.length,
        content: a.content,
      }));
      if (files.length > 0) await tx.insert(messageAttachments).values(files);
      await audit(tx, {
        companyId: invoice.companyId,
        invoiceId,
        actor: 'inbound-mail',
        kind: 'supplier_reply',
        message: `Answer from ${from}: ${subject || '(no subject)'}${files.length > 0 ? ` (${files.length} attachment${files.length === 1 ? '' : 's'})` : ''}`,
        data: { messageId: row.id, from, subject, attachments: files.map((f) => ({ filename: f.filename, size: f.size })) },
        eventKey: `inbound:${row.id}`,
      });
      return { messageId: row.id, created: true, invoice };
    });
  }

  /** Tells the invoice's workflow; a refusal or a finished workflow is recorded, Temporal away is TryLater. */
  async function notify(invoiceId: string, invoice: { companyId: string; workflowId: string }, messageId: string): Promise<void> {
    const handle = temporal.workflow.getHandle(invoice.workflowId);
    try {
      // The update id comes from the message: a redelivery's second notice is the same update.
      await temporal.withDeadline(Date.now() + notifyTimeoutMs, () =>
        handle.executeUpdate(supplierRepliedUpdate, { args: [{ messageId }], updateId: `supplier-replied-${messageId}` }),
      );
      log.info({ invoiceId, messageId }, 'supplier answer delivered to the workflow');
    } catch (err) {
      const gone =
        err instanceof WorkflowNotFoundError || (err instanceof Error && /workflow execution already completed/i.test(err.message));
      if (!gone && !(err instanceof WorkflowUpdateFailedError)) {
        throw new TryLater(`the workflow could not be told just now: ${(err as Error).message}`);
      }
      const reason = gone
        ? "the invoice's workflow is not running"
        : `the workflow refused it: ${(err.cause as Error | undefined)?.message ?? err.message}`;
      log.warn({ invoiceId, messageId, reason }, 'supplier answer stored, workflow not told');
      await audit(db, {
        companyId: invoice.companyId,
        invoiceId,
        actor: 'inbound-mail',
        kind: 'supplier_reply_not_delivered',
        message: `The answer is on the invoice, but ${reason}`,
        data: { messageId },
        eventKey: `inbound-not-delivered:${messageId}`,
      });
    }
  }

  async function receive(raw: Buffer, session: SMTPServerSession): Promise<void> {
    const mail = await simpleParser(raw, { skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
    // Without a Message-ID, the content itself identifies a redelivery.
    const key = mail.messageId?.trim().slice(0, 900) || `<sha256-${createHash('sha256').update(raw).digest('hex')}>`;
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const auto = isAutoReply(mail);
    const recipients = [...new Set(session.envelope.rcptTo.map((r) => r.address))];
    for (const recipient of recipients) {
      const verdict = invoiceOfReplyAddress(recipient, clock(), addressing);
      if ('refused' in verdict) {
        await dropped(recipient, verdict.refused, mail, key);
        continue;
      }
      const stored = await store(verdict.invoiceId, recipient, mail, envelopeFrom, key);
      if (!stored) {
        log.warn({ to: recipient, invoiceId: verdict.invoiceId }, 'supplier answer dropped: the invoice does not exist');
        continue;
      }
      log.info({ invoiceId: verdict.invoiceId, messageId: stored.messageId, redelivery: !stored.created }, 'supplier answer stored');
      if (auto) {
        log.info({ invoiceId: verdict.invoiceId, messageId: stored.messageId }, 'automatic reply: stored, the workflow is not told');
        continue;
      }
      await notify(verdict.invoiceId, stored.invoice, stored.messageId);
    }
  }

  const server = new SMTPServer({
    name: addressing.domain,
    banner: 'invoiceflow: answers to invoice mails',
    // TLS and authentication belong to the public MX in front of this endpoint; it only takes
    // answers, to addresses that a signature makes unguessable.
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: maxBytes,
    rejectOversized: true,
    maxClients: 100,
    logger: false,
    onMailFrom(address, _session, callback) {
      const size = typeof address.args === 'object' ? Number.parseInt(String(address.args.SIZE ?? '0'), 10) : 0;
      if (size > maxBytes) return callback(smtpError(552, `5.3.4 Message too big: at most ${maxBytes} bytes`));
      callback();
    },
    onRcptTo(address, session, callback) {
      if (!ours(address.address)) {
        return callback(smtpError(550, `5.1.1 <${address.address}>: this endpoint takes only answers to invoiceflow mails`));
      }
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) return callback(smtpError(452, '4.5.3 Too many recipients'));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, `5.3.4 Message too big: at most ${maxBytes} bytes`));
        receive(Buffer.concat(chunks), session).then(
          () => callback(),
          (err: unknown) => {
            log.error({ err }, 'supplier answer not taken; the sender will try again');
            callback(
              smtpError(
                451,
                `4.3.0 ${err instanceof TryLater ? 'The invoice cannot be told just now' : 'Not stored just now'}: try again later`,
              ),
            );
          },
        );
      });
    },
  });
  server.on('error', (err) => log.error({ err }, 'inbound mail server error'));

  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    server.server.once('error', failed);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.server.off('error', failed);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
