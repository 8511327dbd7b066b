/**
 * The daily past-due digest (schedule `past-due-reminders`): each user with open tasks on invoices
 * past their due date gets one mail listing them. Queued in the mail outbox under the key
 * `digest:<userId>:<day>`, so running the job twice on a day queues (and sends) one mail.
 */
import { and, asc, eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { invoices, mailOutbox, taskUsers, users, vendors } from '../db/schema';
import { mailTemplates, type MailTemplates } from '../lib/mail-templates';
import { activity } from './failures';

export function pastDueActivities({ db, templates }: { db: Db; templates?: MailTemplates }) {
  return {
    /**
     * Queues the digests of `day`: for every active user with an open assignment on an invoice due
     * before that day (confidential invoices only for users cleared for them), one mail listing
     * the invoices oldest due first. Returns how many digests were queued now (not before).
     */
    queuePastDueDigests: activity(z.strictObject({ day: z.iso.date() }), async ({ day }): Promise<{ users: number; queued: number }> => {
      const t = templates ?? mailTemplates();
      const rows = await db
        .selectDistinctOn([taskUsers.userId, invoices.dueDate, invoices.id], {
          user: { id: users.id, name: users.name, companyId: users.companyId, confidential: users.confidential, active: users.active },
          invoice: {
            id: invoices.id,
            invoiceNumber: invoices.invoiceNumber,
            gross: invoices.gross,
            currency: invoices.currency,
            dueDate: invoices.dueDate,
            stage: invoices.stage,
            confidential: invoices.confidential,
          },
          vendorName: vendors.name,
        })
        .from(taskUsers)
        .innerJoin(invoices, eq(invoices.id, taskUsers.invoiceId))
        .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
        .innerJoin(users, eq(users.id, taskUsers.userId))
        .where(and(eq(taskUsers.relation, 'assignee'), eq(taskUsers.state, 'open'), lt(invoices.dueDate, day)))
        .orderBy(asc(taskUsers.userId), asc(invoices.dueDate), asc(invoices.id));

      const perUser = new Map<string, { user: (typeof rows)[number]['user']; lines: string[]; invoiceIds: string[] }>();
      for (const { user, invoice, vendorName } of rows) {
        if (!user.active) continue;
        if (invoice.confidential && !user.confidential) continue;
        const entry = perUser.get(user.id) ?? { user, lines: [], invoiceIds: [] };
        entry.lines.push(t.line('past-due-digest', { ...invoice, vendorName }));
        entry.invoiceIds.push(invoice.id);
        perUser.set(user.id, entry);
      }

      let queued = 0;
      for (const { user, lines } of perUser.values()) {
        const mail = t.mail('past-due-digest', { name: user.name, day, count: String(lines.length), invoices: lines.join('\n') });
        const inserted = await db
          .insert(mailOutbox)
          .values({
            companyId: user.companyId,
            key: `digest:${user.id}:${day}`,
            kind: 'digest',
            toUsers: [user.id],
            subject: mail.subject,
            body: mail.text,
          })
          .onConflictDoNothing({ target: mailOutbox.key })
          .returning({ id: mailOutbox.id });
        queued += inserted.length;
      }
      return { users: perUser.size, queued };
    }),
  };
}
