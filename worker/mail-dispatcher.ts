/**
 * Delivers the mail outbox: rows that `recordState`, start rules and the scheduled jobs queue in the
 * same transaction as the change that decided them. Runs beside the worker, off every workflow's
 * path: while SMTP is down, mails wait here and invoices go on. Several workers share the table
 * safely (`for update skip locked`); a mail's "sent" is committed only after the SMTP server accepted
 * it, so a crash in between can send it twice (with the same Message-ID), never lose it.
 *
 * Two kinds of rows: rendered ones (`subject` and `body` set when queued: supplier and department
 * mails, digests, agreement checks) go out as they are; task and follow-up mails (`reminder`,
 * `escalation`, `supplier_reminder`, `clerk_notice`) are written from their template when sent, with
 * the invoice as it is then. Every mail sent is in the audit trail (the invoice's, or the company's
 * when it is about no single invoice); one to a supplier or department is also kept on the invoice
 * as an outgoing message. A mail with nobody to send it to, or one the server refuses for good, is
 * given up at once and recorded; one that meets a server away is retried with back-off for two days.
 */
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Transporter } from 'nodemailer';
import type { Db, Tx } from '../db/client';
import { companies, invoiceMessages, invoices, mailOutbox, users, vendors } from '../db/schema';
import { audit } from '../activities/audit';
import { sqlState } from '../activities/failures';
import type { Logger } from '../lib/logger';
import { mailTemplates, type MailTemplates } from '../lib/mail-templates';
import { startPoller, type Poller } from '../lib/poller';
import { replyAddressFor, type ReplyAddressing } from '../lib/reply-address';

export interface MailDispatcherOptions {
  db: Db;
  mailer: Transporter;
  mailFrom: string;
  log: Logger;
  /** Signs the Reply-To of mails to suppliers, so their answer comes back to the invoice. */
  addressing: ReplyAddressing;
  /** Default: the files of mail-templates/, read once. */
  templates?: MailTemplates;
  clock?: () => Date;
  /** How often the outbox is read; default 1 s. */
  intervalMs?: number;
  /** Mails per round. */
  batch?: number;
  /** How long a mail is retried while the server is away or answers "try later"; default 2 days. */
  giveUpAfterMs?: number;
}

type OutboxRow = typeof mailOutbox.$inferSelect;

/** Wait before the next attempt of a mail that failed `attempts` times: 5 s, 10 s, ... up to 10 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 600_000);
}

/**
 * `next_attempt_at` of a mail given up: never due again, while `sent_at` stays empty and
 * `last_error` says why. An operator re-queues it by setting `next_attempt_at = now()`.
 */
export const GIVEN_UP = new Date('9999-12-31T00:00:00Z');

/** Audit wording per kind; other kinds read "E-mail". */
const LABELS: Record<string, string> = {
  reminder: 'Reminder',
  escalation: 'Escalation',
  supplier_reminder: 'Reminder to the supplier',
  clerk_notice: 'Notice to the clerks (no answer from the supplier)',
  supplier: 'E-mail to the supplier',
  department: 'E-mail to the department',
  digest: 'Past-due digest',
  agreement_check: 'Agreement check',
};

interface Composed {
  to: string[];
  subject: string;
  text: string;
  replyTo?: string;
  /** Kept on the invoice as an outgoing message (a mail to a supplier or department). */
  external: boolean;
}

/** Why a mail cannot be sent at all (no retry would help). */
class Undeliverable extends Error {}

/** An SMTP answer 5xx (the server refuses this mail for good), or data the database refuses. */
function permanent(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  if (typeof code === 'number' && code >= 500 && code < 600) return true;
  return /^(22|23)/.test(sqlState(err) ?? '');
}

export function startMailDispatcher(opts: MailDispatcherOptions): Poller {
  const { db, mailer, mailFrom, log, addressing } = opts;
  // Read at start: a missing or broken template stops the worker here, not at the first mail.
  const templates = opts.templates ?? mailTemplates();
  const clock = opts.clock ?? (() => new Date());
  const giveUpAfterMs = opts.giveUpAfterMs ?? 2 * 86_400_000;

  /** The people's addresses (active or not: the mail was decided for them). */
  async function userAddresses(tx: Tx, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await tx.select({ name: users.name, email: users.email }).from(users).where(inArray(users.id, ids));
    return rows.filter((u) => u.email.trim() !== '').map((u) => `${u.name} <${u.email}>`);
  }

  async function invoiceOf(tx: Tx, mail: OutboxRow) {
    if (!mail.invoiceId) throw new Undeliverable(`a ${mail.kind} mail names no invoice`);
    const [row] = await tx
      .select({ invoice: invoices, vendor: vendors, companyName: companies.name })
      .from(invoices)
      .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
      .innerJoin(companies, eq(companies.id, invoices.companyId))
      .where(eq(invoices.id, mail.invoiceId));
    if (!row) throw new Undeliverable(`invoice ${mail.invoiceId} does not exist`);
    const i = row.invoice;
    const values = {
      invoiceNumber: i.invoiceNumber,
      vendorName: row.vendor.name,
      stage: i.stage,
      gross: i.gross,
      currency: i.currency,
      dueDate: i.dueDate,
      invoiceDate: i.invoiceDate,
      taskId: mail.taskId ?? '',
    };
    return { ...row, values };
  }

  async function compose(tx: Tx, mail: OutboxRow): Promise<Composed> {
    if (mail.subject !== null && mail.body !== null) {
      const to = [...mail.toAddresses, ...(await userAddresses(tx, mail.toUsers))];
      return {
        to,
        subject: mail.subject,
        text: mail.body,
        ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
        external: mail.invoiceId !== null && mail.toAddresses.length > 0,
      };
    }
    switch (mail.kind) {
      case 'reminder':
      case 'escalation':
      case 'clerk_notice': {
        const { values } = await invoiceOf(tx, mail);
        const name = mail.kind === 'clerk_notice' ? 'clerk-notice' : mail.kind;
        return { to: await userAddresses(tx, mail.toUsers), ...templates.mail(name, values), external: false };
      }
      case 'supplier_reminder': {
        const { invoice, vendor, companyName, values } = await invoiceOf(tx, mail);
        // To whom the question went (a department, or the supplier's contact from the document), else the vendor.
        const [question] = await tx
          .select({ to: invoiceMessages.to, subject: invoiceMessages.subject, text: invoiceMessages.text })
          .from(invoiceMessages)
          .where(and(eq(invoiceMessages.invoiceId, invoice.id), eq(invoiceMessages.direction, 'out')))
          .orderBy(desc(invoiceMessages.at), desc(invoiceMessages.id))
          .limit(1);
        const to = question
          ? question.to
              .split(',')
              .map((a) => a.trim())
              .filter(Boolean)
          : vendor.email
            ? [vendor.email]
            : [];
        const quoted = question
          ? `${question.subject}\n\n${question.text.trimEnd()}`.replace(/^/gm, '> ')
          : `> invoice ${invoice.invoiceNumber}`;
        return {
          to,
          ...templates.mail('supplier-reminder', { ...values, question: quoted, companyName }),
          replyTo: replyAddressFor(invoice.id, clock(), addressing),
          external: true,
        };
      }
      default:
        throw new Undeliverable(`a ${mail.kind} mail without subject and body: nothing to send`);
    }
  }

  /**
   * Records one mail as sent, then sends it, in the caller's savepoint: a refused send undoes the
   * records, and a record that cannot be written never leaves a sent mail to be sent again.
   */
  async function deliver(tx: Tx, mail: OutboxRow): Promise<void> {
    const m = await compose(tx, mail);
    if (m.to.length === 0) throw new Undeliverable('no address to send it to');
    // The same Message-ID on every attempt: a mail sent twice after a crash is one message to its reader.
    const messageId = `<${createHash('sha256').update(mail.key).digest('hex').slice(0, 24)}.${mail.id}@${addressing.domain}>`;
    await tx
      .update(mailOutbox)
      .set({ sentAt: clock(), attempts: mail.attempts + 1, lastError: null })
      .where(eq(mailOutbox.id, mail.id));
    if (m.external && mail.invoiceId) {
      await tx
        .insert(invoiceMessages)
        .values({
          companyId: mail.companyId,
          invoiceId: mail.invoiceId,
          direction: 'out',
          from: mailFrom,
          to: m.to.join(', '),
          subject: m.subject,
          text: m.text,
          messageId: `${mail.invoiceId} ${messageId}`,
        })
        .onConflictDoNothing();
    }
    await audit(tx, {
      companyId: mail.companyId,
      ...(mail.invoiceId ? { invoiceId: mail.invoiceId } : {}),
      actor: 'system',
      kind: `${mail.kind}_email`,
      message: `${LABELS[mail.kind] ?? 'E-mail'} sent to ${m.to.join(', ')}: ${m.subject}`,
      data: { outboxId: mail.id, to: m.to, subject: m.subject, ...(m.replyTo ? { replyTo: m.replyTo } : {}) },
      eventKey: mail.key,
    });
    await mailer.sendMail({
      from: mailFrom,
      to: m.to,
      subject: m.subject,
      text: m.text,
      messageId,
      ...(m.replyTo ? { replyTo: m.replyTo } : {}),
      // RFC 3834: out-of-office robots do not answer it, so only a person's reply comes back.
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
  }

  /** Records a failed attempt: retried later, or given up (recorded in the audit trail) when no retry can help. */
  async function failed(tx: Tx, mail: OutboxRow, err: unknown): Promise<void> {
    const attempts = mail.attempts + 1;
    const reason = (err as Error).message.slice(0, 500);
    const retryable = !(err instanceof Undeliverable) && !permanent(err);
    if (retryable && clock().getTime() - mail.createdAt.getTime() <= giveUpAfterMs) {
      log.warn({ err, mail: mail.key, attempts }, 'mail not sent; will retry');
      await tx
        .update(mailOutbox)
        .set({ attempts, lastError: reason, nextAttemptAt: new Date(clock().getTime() + retryDelayMs(attempts)) })
        .where(eq(mailOutbox.id, mail.id));
      return;
    }
    log.error({ err, mail: mail.key, attempts }, 'mail given up');
    await tx.update(mailOutbox).set({ attempts, lastError: reason, nextAttemptAt: GIVEN_UP }).where(eq(mailOutbox.id, mail.id));
    await audit(tx, {
      companyId: mail.companyId,
      ...(mail.invoiceId ? { invoiceId: mail.invoiceId } : {}),
      actor: 'system',
      kind: `${mail.kind}_email_not_sent`,
      message: `${LABELS[mail.kind] ?? 'E-mail'} not sent: ${reason}${retryable ? ' (given up after two days of attempts)' : ''}`,
      data: { outboxId: mail.id, attempts },
      eventKey: `${mail.key}:not-sent`,
    });
  }

  async function runOnce(): Promise<number> {
    return db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(mailOutbox)
        .where(and(isNull(mailOutbox.sentAt), lte(mailOutbox.nextAttemptAt, sql`now()`)))
        .orderBy(asc(mailOutbox.id))
        .limit(opts.batch ?? 20)
        .for('update', { skipLocked: true });
      let sent = 0;
      for (const mail of due) {
        try {
          // A savepoint per mail: a failed write undoes only this mail's records.
          await tx.transaction((sp) => deliver(sp, mail));
          sent += 1;
        } catch (err) {
          await failed(tx, mail, err);
        }
      }
      return sent;
    });
  }

  return startPoller({ what: 'sending the mail outbox', log, intervalMs: opts.intervalMs ?? 1000, round: runOnce });
}
