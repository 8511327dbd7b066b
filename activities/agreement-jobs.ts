/**
 * The agreement jobs that Temporal Schedules run: the daily check (overdue agreements and those
 * near their cap, mailed to the company's admins once per day) and the periodic cumulative resets.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { agreementMatches, agreements, auditEvents, mailOutbox, users, vendors } from '../db/schema';
import { nearCap } from '../domain/agreements';
import { z } from 'zod';
import { mailTemplates, type MailTemplates } from '../lib/mail-templates';
import { audit } from './audit';
import { activity } from './failures';

export function agreementJobActivities({ db, templates }: { db: Db; templates?: MailTemplates }) {
  return {
    /**
     * The daily agreement check: per company, the agreements whose next invoice is overdue (last
     * matched invoice date + days + grace) and those at 90% or more of their cap, in one e-mail to
     * the company's admins, queued in the mail outbox. The audit event keyed by company and day is
     * written in the same transaction as the mail, so running the same day twice sends nothing twice.
     */
    runAgreementCheck: activity(
      z.strictObject({ day: z.iso.date(), graceDays: z.number().int().min(0).max(365) }),
      async ({ day, graceDays }): Promise<{ companiesMailed: number }> => {
        const rows = await db
          .select({
            agreement: agreements,
            vendorName: vendors.name,
            lastDate: sql<string | null>`max(${agreementMatches.invoiceDate})::text`,
          })
          .from(agreements)
          .innerJoin(vendors, eq(vendors.id, agreements.vendorId))
          .leftJoin(agreementMatches, eq(agreementMatches.agreementId, agreements.id))
          // A deactivated agreement expects no more invoices: nothing to report about it.
          .where(eq(agreements.active, true))
          .groupBy(agreements.id, vendors.name);
        const t = templates ?? mailTemplates();
        const findings = new Map<string, string[]>();
        for (const { agreement: a, vendorName, lastDate } of rows) {
          const lines = findings.get(a.companyId) ?? [];
          if (lastDate) {
            const due = new Date(Date.parse(`${lastDate}T00:00:00Z`) + (a.days + graceDays) * 86_400_000).toISOString().slice(0, 10);
            if (due < day) lines.push(t.line('agreement-overdue', { vendorName, agreementId: a.id, due, lastDate }));
          }
          if (nearCap(a.cumulativeTotal, a.cumulativeCap)) {
            lines.push(t.line('agreement-near-cap', { agreementId: a.id, vendorName, total: a.cumulativeTotal, cap: a.cumulativeCap }));
          }
          if (lines.length > 0) findings.set(a.companyId, lines);
        }
        let companiesMailed = 0;
        for (const [companyId, lines] of findings) {
          await db.transaction(async (tx) => {
            const [claimed] = await tx
              .insert(auditEvents)
              .values({
                companyId,
                actor: 'system',
                kind: 'agreement_check',
                message: lines.join('\n'),
                eventKey: `agreement-check:${companyId}:${day}`,
              })
              .onConflictDoNothing({ target: auditEvents.eventKey })
              .returning({ id: auditEvents.id });
            if (!claimed) return;
            const admins = (await tx.select().from(users).where(eq(users.companyId, companyId))).filter(
              (u) => u.active && u.roles.includes('admin'),
            );
            if (admins.length === 0) return;
            // Through the outbox, in the same transaction as the claim: sent once, off this job's path.
            const mail = t.mail('agreement-check', {
              day,
              findings: `${lines.length} finding${lines.length === 1 ? '' : 's'}`,
              lines: lines.join('\n'),
            });
            await tx
              .insert(mailOutbox)
              .values({
                companyId,
                key: `agreement-check-mail:${companyId}:${day}`,
                kind: 'agreement_check',
                toUsers: admins.map((u) => u.id),
                subject: mail.subject,
                body: mail.text,
              })
              .onConflictDoNothing({ target: mailOutbox.key });
            companiesMailed += 1;
          });
        }
        return { companiesMailed };
      },
    ),

    /** Resets the cumulative total of every agreement whose reset period has ended since its last reset. */
    resetAgreementTotals: activity(
      z.strictObject({ now: z.iso.datetime({ offset: true }) }),
      async ({ now }): Promise<{ reset: number }> => {
        const at = new Date(now);
        const due = await db
          .select()
          .from(agreements)
          .where(sql`${agreements.resetPeriod} is not null`);
        let reset = 0;
        for (const a of due) {
          const periodStart = startOfPeriod(at, a.resetPeriod!);
          if (a.lastResetAt >= periodStart) continue;
          await db.transaction(async (tx) => {
            const [row] = await tx
              .update(agreements)
              .set({ cumulativeTotal: '0', lastResetAt: periodStart })
              .where(and(eq(agreements.id, a.id), lt(agreements.lastResetAt, periodStart)))
              .returning({ id: agreements.id });
            if (!row) return;
            await tx.update(agreementMatches).set({ counted: false }).where(eq(agreementMatches.agreementId, a.id));
            await audit(tx, {
              companyId: a.companyId,
              actor: 'system',
              kind: 'agreement_reset',
              message: `Cumulative total of agreement ${a.id} reset from ${a.cumulativeTotal} for the ${a.resetPeriod} period starting ${periodStart.toISOString().slice(0, 10)}`,
              eventKey: `agreement-reset:${a.id}:${periodStart.toISOString()}`,
            });
            reset += 1;
          });
        }
        return { reset };
      },
    ),
  };
}

/** The first instant (UTC) of the month, quarter or year that `at` falls in. */
export function startOfPeriod(at: Date, period: 'monthly' | 'quarterly' | 'yearly'): Date {
  const year = at.getUTCFullYear();
  const month = period === 'yearly' ? 0 : period === 'quarterly' ? at.getUTCMonth() - (at.getUTCMonth() % 3) : at.getUTCMonth();
  return new Date(Date.UTC(year, month, 1));
}
