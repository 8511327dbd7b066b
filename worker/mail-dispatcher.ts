/**
 * Delivers the mail outbox: rows that `recordState` (and other writers) queue in the same
 * transaction as the change that decided them. Runs beside the worker, off every workflow's path:
 * while SMTP is down, mails wait here and invoices go on. Several workers share the table safely
 * (`for update skip locked`); a mail is marked sent after the SMTP server accepted it, so a crash
 * in between can send it twice, never lose it.
 */
import { and, asc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Transporter } from 'nodemailer';
import type { Db } from '../db/client';
import { invoices, mailOutbox, users, vendors } from '../db/schema';
import { audit } from '../activities/audit';
import type { Logger } from '../lib/logger';
import { startPoller, type Poller } from '../lib/poller';

export interface MailDispatcherOptions {
  db: Db;
  mailer: Transporter;
  mailFrom: string;
  log: Logger;
  /** How often the outbox is read; default 1 s. */
  intervalMs?: number;
  /** Mails per round. */
  batch?: number;
}

/** Wait before the next attempt of a mail that failed `attempts` times: 5 s, 10 s, ... up to 10 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 600_000);
}

export function startMailDispatcher(opts: MailDispatcherOptions): Poller {
  const { db, mailer, mailFrom, log } = opts;

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
          const recipients = mail.toUsers.length > 0 ? await tx.select().from(users).where(inArray(users.id, mail.toUsers)) : [];
          const [row] = await tx
            .select({ invoice: invoices, vendorName: vendors.name })
            .from(invoices)
            .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
            .where(eq(invoices.id, mail.invoiceId ?? '00000000-0000-0000-0000-000000000000'));
          const i = row?.invoice;
          const subject =
            mail.kind === 'reminder'
              ? `Reminder: invoice ${i?.invoiceNumber} from ${row?.vendorName} waits for you (${i?.stage})`
              : `Escalated: invoice ${i?.invoiceNumber} from ${row?.vendorName} has waited too long (${i?.stage})`;
          if (recipients.length > 0 && i) {
            await mailer.sendMail({
              from: mailFrom,
              to: recipients.map((u) => `${u.name} <${u.email}>`),
              subject,
              text: `${subject}.\n\nInvoice ${i.invoiceNumber}, ${i.gross} ${i.currency}, due ${i.dueDate}.\nTask ${mail.taskId}.\n`,
            });
          }
          await tx
            .update(mailOutbox)
            .set({ sentAt: new Date(), attempts: mail.attempts + 1, lastError: null })
            .where(eq(mailOutbox.id, mail.id));
          await audit(tx, {
            companyId: mail.companyId,
            ...(mail.invoiceId ? { invoiceId: mail.invoiceId } : {}),
            actor: 'system',
            kind: `${mail.kind}_email`,
            message: `${mail.kind === 'reminder' ? 'Reminder' : 'Escalation'} e-mail sent to ${recipients.map((u) => u.email).join(', ') || 'nobody'}`,
            eventKey: mail.key,
          });
          sent += 1;
        } catch (err) {
          const attempts = mail.attempts + 1;
          log.warn({ err, mail: mail.key, attempts }, 'mail not sent; will retry');
          await tx
            .update(mailOutbox)
            .set({
              attempts,
              lastError: (err as Error).message.slice(0, 500),
              nextAttemptAt: new Date(Date.now() + retryDelayMs(attempts)),
            })
            .where(eq(mailOutbox.id, mail.id));
        }
      }
      return sent;
    });
  }

  return startPoller({ what: 'sending the mail outbox', log, intervalMs: opts.intervalMs ?? 1000, round: runOnce });
}
