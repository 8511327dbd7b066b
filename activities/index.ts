/**
 * All I/O of the invoice workflow. Built by a factory from their dependencies so the worker
 * wires real ones and tests can wrap them.
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Transporter } from 'nodemailer';
import type { Db, Tx } from '../db/client';
import { lockInvoice } from '../db/locks';
import {
  agreementMatches,
  agreements,
  approvalLimits,
  auditEvents,
  codingRows,
  companies,
  partnerships,
  codingTemplates,
  flowTemplates,
  invoices,
  journalEntries,
  journalLines,
  settings,
  taskUsers,
  tasks,
  users,
  vendors,
} from '../db/schema';
import { matchAgreement } from '../domain/agreements';
import { signableRows } from '../domain/approval';
import { applyCodingTemplate } from '../domain/coding';
import { durationMs, resolveAssignees, type AssigneeSpec } from '../domain/flow';
import { buildPurchaseJournal, UnbalancedJournalError } from '../domain/journal';
import { format, lessThanOrEqual, money, sameAmount, sum } from '../domain/money';
import type { InvoiceContext, InvoiceState, ResolvedStep } from '../workflows/definitions';
import type { DelegateLookup } from '../workflows/invoice-process';

export interface ActivityDeps {
  db: Db;
  mailer: Transporter;
  clock: () => Date;
  /** Sender of the mails; default `invoiceflow <invoiceflow@localhost>`. */
  mailFrom?: string;
}

export function createActivities({ db, mailer, clock, mailFrom = 'invoiceflow <invoiceflow@localhost>' }: ActivityDeps) {
  return {
    /**
     * Applies the coding template (once: a retry finds the rows already there) and resolves the
     * flow template into the people each step addresses and the rows each approver may sign.
     */
    async prepareInvoice({ invoiceId }: { invoiceId: string }): Promise<InvoiceContext> {
      return db.transaction(async (tx) => {
        await lockInvoice(tx, invoiceId); // waits for intake's transaction to end
        const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for('update');
        if (!invoice) throw ApplicationFailure.nonRetryable(`invoice ${invoiceId} does not exist`, 'InvoiceNotFound');
        const [vendor] = await tx.select().from(vendors).where(eq(vendors.id, invoice.vendorId));
        let rows = await tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId)).orderBy(asc(codingRows.rowNo));
        let codingProblem: string | undefined;
        const agreement = await matchAgreementOnce(tx, invoice, rows.length === 0);
        if (rows.length === 0) {
          const template = agreement
            ? await pickTemplate(tx, codingTemplates, invoice.companyId, agreement.codingTemplateId)
            : await pickTemplate(tx, codingTemplates, invoice.companyId, vendor?.codingTemplateId ?? null);
          if (template) {
            const drafts = applyCodingTemplate(template, invoice);
            await tx
              .insert(codingRows)
              .values(
                drafts.map((d) => ({
                  invoiceId,
                  rowNo: d.rowNo,
                  kind: d.kind,
                  account: d.account,
                  dimensions: d.dimensions,
                  taxCode: d.taxCode ?? null,
                  amount: d.amount,
                  // An agreement's approval signature goes on every row.
                  ...(agreement?.approvalUserId ? { approvedBy: agreement.approvalUserId, approvedAt: clock() } : {}),
                })),
              )
              .onConflictDoNothing();
            await audit(tx, {
              companyId: invoice.companyId,
              invoiceId,
              actor: 'system',
              kind: 'coding',
              message: `Coding template "${template.name}" applied: ${drafts.length} rows`,
              eventKey: `${invoice.workflowId}:coding`,
            });
            rows = await tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId)).orderBy(asc(codingRows.rowNo));
          }
        }
        if (rows.length === 0) {
          codingProblem = 'The invoice has no coding rows and no coding template applies; code it first';
        } else {
          const coded = sum(
            rows.map((r) => money(r.amount, invoice.currency)),
            invoice.currency,
          );
          if (!sameAmount(coded, money(invoice.gross, invoice.currency))) {
            codingProblem = `The coding rows add up to ${format(coded)} but the gross amount is ${invoice.gross} ${invoice.currency}`;
          }
        }

        const directory = await tx.select().from(users).where(eq(users.companyId, invoice.companyId));
        const limits = await tx
          .select()
          .from(approvalLimits)
          .where(inArray(approvalLimits.userId, directory.map((u) => u.id).concat('')));
        const flow = await pickTemplate(
          tx,
          flowTemplates,
          invoice.companyId,
          agreement ? agreement.flowTemplateId : (vendor?.flowTemplateId ?? null),
        );
        const rowInfo = rows.map((r) => ({ id: r.id, kind: r.kind, dimensions: r.dimensions }));
        const steps: ResolvedStep[] = (flow?.steps ?? []).map((step) => {
          const assignees = resolveAssignees(step.assignees, directory, rowInfo);
          const signable: Record<string, string[]> = {};
          if (step.kind === 'approval') {
            for (const id of assignees) {
              const approver = {
                id,
                costCentres: directory.find((u) => u.id === id)?.costCentres ?? [],
                approvalLimits: limits.filter((l) => l.userId === id),
              };
              signable[id] = signableRows(approver, invoice, rowInfo);
            }
          }
          const reminderAfterMs = durationMs(step.reminderAfter);
          const escalateAfterMs = durationMs(step.escalateAfter);
          return {
            kind: step.kind,
            mode: step.mode,
            assignees,
            signable,
            ...(reminderAfterMs !== undefined ? { reminderAfterMs } : {}),
            ...(escalateAfterMs !== undefined ? { escalateAfterMs } : {}),
            ...(step.escalateTo ? { escalateTo: resolveAssignees(step.escalateTo, directory, rowInfo) } : {}),
          };
        });
        const [companySettings] = await tx.select().from(settings).where(eq(settings.companyId, invoice.companyId));
        const threshold = companySettings?.twoApproverThreshold;
        const requiredApprovals =
          threshold !== null &&
          threshold !== undefined &&
          !lessThanOrEqual(money(invoice.gross, invoice.currency), money(threshold, invoice.currency))
            ? 2
            : 1;
        return {
          invoiceId,
          companyId: invoice.companyId,
          vendorId: invoice.vendorId,
          currency: invoice.currency,
          gross: invoice.gross,
          dueDate: invoice.dueDate,
          ...(invoice.createdBy ? { registeredBy: invoice.createdBy } : {}),
          rows: rows.map((r) => ({
            id: r.id,
            kind: r.kind,
            dimensions: r.dimensions,
            ...(r.approvedBy ? { approvedBy: r.approvedBy } : {}),
          })),
          ...(codingProblem ? { codingProblem } : {}),
          ...(agreement
            ? {
                agreement: {
                  id: agreement.id,
                  touchless: agreement.flowTemplateId === null,
                  ...(agreement.stage ? { stage: agreement.stage } : {}),
                },
              }
            : {}),
          clerks: resolveAssignees({ roles: ['clerk'] }, directory),
          admins: resolveAssignees({ roles: ['admin'] }, directory),
          steps,
          requiredApprovals,
        };
      });
    },

    /**
     * Projects a workflow snapshot into Postgres. Stage, tasks and signatures are written only when
     * the snapshot is newer than what is stored, so a late retry never overwrites a newer state;
     * history entries are appended once each whatever the order.
     */
    async recordState({
      companyId,
      state,
      firstHistoryIndex,
    }: {
      companyId: string;
      state: InvoiceState;
      firstHistoryIndex: number;
    }): Promise<{ applied: boolean }> {
      return db.transaction(async (tx) => {
        const workflowId = await workflowIdOf(tx, state.invoiceId);
        if (state.history.length > 0) {
          await tx
            .insert(auditEvents)
            .values(
              state.history.map((h, i) => ({
                companyId,
                invoiceId: state.invoiceId,
                at: new Date(h.at),
                actor: h.actor,
                kind: h.outcome === 'refused' ? `${h.action}_refused` : h.action,
                message: h.message,
                data: { stage: h.stage, outcome: h.outcome },
                eventKey: `${workflowId}:h${firstHistoryIndex + i}`,
              })),
            )
            .onConflictDoNothing({ target: auditEvents.eventKey });
        }
        const advanced = await tx
          .update(invoices)
          .set({ stage: state.stage, workflowSeq: state.seq, updatedAt: clock() })
          .where(and(eq(invoices.id, state.invoiceId), lt(invoices.workflowSeq, state.seq)))
          .returning({ id: invoices.id });
        if (advanced.length === 0) return { applied: false };
        for (const row of state.rows) {
          await tx
            .update(codingRows)
            .set({
              reviewedBy: row.reviewedBy ?? null,
              reviewedAt: row.reviewedAt ? new Date(row.reviewedAt) : null,
              approvedBy: row.approvedBy ?? null,
              approvedAt: row.approvedAt ? new Date(row.approvedAt) : null,
              secondApprovedBy: row.secondApprovedBy ?? null,
              secondApprovedAt: row.secondApprovedAt ? new Date(row.secondApprovedAt) : null,
            })
            .where(and(eq(codingRows.id, row.rowId), eq(codingRows.invoiceId, state.invoiceId)));
        }
        for (const task of state.tasks) {
          const values = {
            stage: task.stage,
            step: task.step,
            mode: task.mode,
            state: task.state,
            assignees: task.assignees,
            actedBy: task.actedBy,
            action: task.action ?? null,
            message: task.message ?? null,
            remindedAt: task.remindedAt ? new Date(task.remindedAt) : null,
            escalatedAt: task.escalatedAt ? new Date(task.escalatedAt) : null,
            openedAt: new Date(task.openedAt),
            closedAt: task.closedAt ? new Date(task.closedAt) : null,
          };
          await tx
            .insert(tasks)
            .values({ id: task.id, invoiceId: state.invoiceId, companyId, ...values })
            .onConflictDoUpdate({ target: tasks.id, set: values });
        }
        // The work queue's per-user index follows the tasks.
        const taskIds = state.tasks.map((t) => t.id);
        if (taskIds.length > 0) {
          await tx.delete(taskUsers).where(inArray(taskUsers.taskId, taskIds));
          const rows = state.tasks.flatMap((t) => {
            const common = { taskId: t.id, invoiceId: state.invoiceId, state: t.state, openedAt: new Date(t.openedAt) };
            return [
              ...[...new Set(t.assignees)].map((userId) => ({ ...common, userId, relation: 'assignee' as const })),
              ...[...new Set(t.actedBy)].map((userId) => ({ ...common, userId, relation: 'actor' as const })),
            ];
          });
          if (rows.length > 0) await tx.insert(taskUsers).values(rows);
        }
        return { applied: true };
      });
    },

    /**
     * Who a task may be delegated to: an active user of the invoice's company or of a partnered
     * environment; in approval, with the rows that user's own rights allow signing.
     */
    async lookupDelegate({ invoiceId, userId, stage }: { invoiceId: string; userId: string; stage: string }): Promise<DelegateLookup> {
      const [invoice] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
      const [row] = await db
        .select({ user: users, environment: companies.environment })
        .from(users)
        .innerJoin(companies, eq(companies.id, users.companyId))
        .where(eq(users.id, userId));
      if (!invoice || !row || !row.user.active) return { found: false, reason: `There is no active user ${userId}`, signable: [] };
      if (row.user.companyId !== invoice.companyId) {
        const [own] = await db.select({ environment: companies.environment }).from(companies).where(eq(companies.id, invoice.companyId));
        const [a, b] = [own!.environment, row.environment].sort() as [string, string];
        const [partnered] =
          a === b
            ? [true]
            : await db
                .select()
                .from(partnerships)
                .where(and(eq(partnerships.environmentA, a), eq(partnerships.environmentB, b)));
        if (!partnered) return { found: false, reason: `${userId} is in an environment without a partnership with this one`, signable: [] };
      }
      if (stage !== 'approval') return { found: true, signable: [] };
      const rows = await db.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId));
      const limits = await db.select().from(approvalLimits).where(eq(approvalLimits.userId, userId));
      const signable = signableRows(
        { id: userId, costCentres: row.user.costCentres, approvalLimits: limits },
        invoice,
        rows.map((r) => ({ id: r.id, dimensions: r.dimensions })),
      );
      return { found: true, signable };
    },

    /** The active users of a company that a spec of users, groups and roles names. */
    async resolveAssigneeSpec({ companyId, spec }: { companyId: string; spec: AssigneeSpec }): Promise<string[]> {
      const directory = await db.select().from(users).where(eq(users.companyId, companyId));
      return resolveAssignees(spec, directory);
    },

    /** E-mails a task's assignees (reminder or escalation); once per task and kind, whatever the retries. */
    async sendTaskEmail({
      invoiceId,
      taskId,
      kind,
      to,
    }: {
      invoiceId: string;
      taskId: string;
      kind: 'reminder' | 'escalation';
      to: string[];
    }): Promise<{ sent: number }> {
      const eventKey = `${taskId}:${kind}`;
      const [already] = await db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.eventKey, eventKey));
      if (already) return { sent: 0 };
      const [invoice] = await db
        .select({ invoice: invoices, vendorName: vendors.name })
        .from(invoices)
        .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
        .where(eq(invoices.id, invoiceId));
      if (!invoice) throw ApplicationFailure.nonRetryable(`invoice ${invoiceId} does not exist`, 'InvoiceNotFound');
      const recipients = to.length > 0 ? await db.select().from(users).where(inArray(users.id, to)) : [];
      const i = invoice.invoice;
      const subject =
        kind === 'reminder'
          ? `Reminder: invoice ${i.invoiceNumber} from ${invoice.vendorName} waits for you (${i.stage})`
          : `Escalated: invoice ${i.invoiceNumber} from ${invoice.vendorName} has waited too long (${i.stage})`;
      if (recipients.length > 0) {
        await mailer.sendMail({
          from: mailFrom,
          to: recipients.map((u) => `${u.name} <${u.email}>`),
          subject,
          text: `${subject}.\n\nInvoice ${i.invoiceNumber}, ${i.gross} ${i.currency}, due ${i.dueDate}.\nTask ${taskId}.\n`,
        });
      }
      await audit(db, {
        companyId: i.companyId,
        invoiceId,
        actor: 'system',
        kind: `${kind}_email`,
        message: `${kind === 'reminder' ? 'Reminder' : 'Escalation'} e-mail sent to ${recipients.map((u) => u.email).join(', ') || 'nobody'}`,
        eventKey,
      });
      return { sent: recipients.length };
    },

    /**
     * The daily agreement check: per company, the agreements whose next invoice is overdue (last
     * matched invoice date + days + grace) and those at 90% or more of their cap, in one e-mail to
     * the company's admins. The audit event keyed by company and day is written in the same
     * transaction as the sending, so running the same day twice sends nothing twice.
     */
    async runAgreementCheck({ day, graceDays }: { day: string; graceDays: number }): Promise<{ companiesMailed: number }> {
      const rows = await db
        .select({
          agreement: agreements,
          vendorName: vendors.name,
          lastDate: sql<string | null>`max(${agreementMatches.invoiceDate})::text`,
        })
        .from(agreements)
        .innerJoin(vendors, eq(vendors.id, agreements.vendorId))
        .leftJoin(agreementMatches, eq(agreementMatches.agreementId, agreements.id))
        .groupBy(agreements.id, vendors.name);
      const findings = new Map<string, string[]>();
      for (const { agreement: a, vendorName, lastDate } of rows) {
        const lines = findings.get(a.companyId) ?? [];
        if (lastDate) {
          const due = new Date(Date.parse(`${lastDate}T00:00:00Z`) + (a.days + graceDays) * 86_400_000).toISOString().slice(0, 10);
          if (due < day)
            lines.push(
              `Overdue: the next invoice from ${vendorName} under agreement ${a.id} was expected by ${due} (last one dated ${lastDate}).`,
            );
        }
        if (a.cumulativeCap !== null && Number(a.cumulativeCap) > 0 && Number(a.cumulativeTotal) >= 0.9 * Number(a.cumulativeCap)) {
          lines.push(`Nearly used up: agreement ${a.id} with ${vendorName} stands at ${a.cumulativeTotal} of its cap ${a.cumulativeCap}.`);
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
          await mailer.sendMail({
            from: mailFrom,
            to: admins.map((u) => `${u.name} <${u.email}>`),
            subject: `Agreement check ${day}: ${lines.length} finding${lines.length === 1 ? '' : 's'}`,
            text: `${lines.join('\n')}\n`,
          });
          companiesMailed += 1;
        });
      }
      return { companiesMailed };
    },

    /** Resets the cumulative total of every agreement whose reset period has ended since its last reset. */
    async resetAgreementTotals({ now }: { now: string }): Promise<{ reset: number }> {
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

    /**
     * Final posting: writes the balanced journal entry exactly once. A retry, or a second call for
     * any reason, finds the entry by its unique invoice id and returns it unchanged.
     */
    async postInvoice({ invoiceId }: { invoiceId: string }): Promise<{ journalEntryId: string; created: boolean }> {
      return db.transaction(async (tx) => {
        const [existing] = await tx.select({ id: journalEntries.id }).from(journalEntries).where(eq(journalEntries.invoiceId, invoiceId));
        if (existing) return { journalEntryId: existing.id, created: false };
        const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for('update');
        if (!invoice) throw ApplicationFailure.nonRetryable(`invoice ${invoiceId} does not exist`, 'InvoiceNotFound');
        const [vendor] = await tx.select().from(vendors).where(eq(vendors.id, invoice.vendorId));
        const [companySettings] = await tx.select().from(settings).where(eq(settings.companyId, invoice.companyId));
        const rows = await tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId)).orderBy(asc(codingRows.rowNo));
        let lines;
        try {
          lines = buildPurchaseJournal({
            documentType: invoice.documentType,
            currency: invoice.currency,
            gross: invoice.gross,
            payableAccount: companySettings?.payableAccount ?? '2400',
            vendorName: vendor?.name ?? 'vendor',
            invoiceNumber: invoice.invoiceNumber,
            codingRows: rows,
          });
        } catch (err) {
          if (err instanceof UnbalancedJournalError) throw ApplicationFailure.nonRetryable(err.message, 'UnbalancedJournal');
          throw err;
        }
        const [entry] = await tx
          .insert(journalEntries)
          .values({
            companyId: invoice.companyId,
            invoiceId,
            currency: invoice.currency,
            description: `${invoice.documentType === 'credit_note' ? 'Credit note' : 'Invoice'} ${invoice.invoiceNumber} from ${vendor?.name ?? 'vendor'}`,
            postedAt: clock(),
          })
          .onConflictDoNothing({ target: journalEntries.invoiceId })
          .returning({ id: journalEntries.id });
        if (!entry) {
          // Another attempt committed first while this one waited for the row lock.
          const [winner] = await tx.select({ id: journalEntries.id }).from(journalEntries).where(eq(journalEntries.invoiceId, invoiceId));
          return { journalEntryId: winner!.id, created: false };
        }
        await tx.insert(journalLines).values(lines.map((l, i) => ({ entryId: entry.id, lineNo: i + 1, ...l })));
        await audit(tx, {
          companyId: invoice.companyId,
          invoiceId,
          actor: 'system',
          kind: 'posting',
          message: `Journal entry ${entry.id} written: ${lines.length} lines, ${invoice.gross} ${invoice.currency}`,
          eventKey: `${invoice.workflowId}:posting`,
        });
        return { journalEntryId: entry.id, created: true };
      });
    },
  };
}

async function workflowIdOf(tx: Tx, invoiceId: string): Promise<string> {
  const [row] = await tx.select({ workflowId: invoices.workflowId }).from(invoices).where(eq(invoices.id, invoiceId));
  if (!row) throw ApplicationFailure.nonRetryable(`invoice ${invoiceId} does not exist`, 'InvoiceNotFound');
  return row.workflowId;
}

type TemplateTable = typeof codingTemplates | typeof flowTemplates;

/** The vendor's own template when it has one, else the company default. */
async function pickTemplate<T extends TemplateTable>(
  tx: Tx,
  table: T,
  companyId: string,
  vendorTemplateId: string | null,
): Promise<T['$inferSelect'] | undefined> {
  const t = table as TemplateTable;
  const where = vendorTemplateId
    ? and(eq(t.companyId, companyId), eq(t.id, vendorTemplateId))
    : and(eq(t.companyId, companyId), eq(t.isDefault, true));
  const [template] = await tx.select().from(t).where(where).limit(1);
  return template as T['$inferSelect'] | undefined;
}

/** Appends an audit event; the event key makes a retried write a no-op. */
export async function audit(
  tx: Tx | Db,
  event: {
    companyId: string;
    invoiceId?: string;
    actor: string;
    kind: string;
    message: string;
    data?: Record<string, unknown>;
    eventKey?: string;
  },
): Promise<void> {
  await tx
    .insert(auditEvents)
    .values({ ...event, data: event.data ?? {}, eventKey: event.eventKey ?? null })
    .onConflictDoNothing({ target: auditEvents.eventKey });
}

/**
 * Decides once per invoice whether it is an agreement invoice, and if so adds its gross to the
 * agreement's cumulative total in the same transaction. The agreement rows of the vendor are
 * locked, so concurrent invoices of one agreement are judged one after the other; the match row
 * (primary key: the invoice) makes a retry find the earlier decision instead of counting twice.
 */
async function matchAgreementOnce(tx: Tx, invoice: typeof invoices.$inferSelect, firstTime: boolean) {
  const [earlier] = await tx.select().from(agreementMatches).where(eq(agreementMatches.invoiceId, invoice.id));
  if (earlier) {
    const [agreement] = await tx.select().from(agreements).where(eq(agreements.id, earlier.agreementId));
    return agreement;
  }
  if (!firstTime || invoice.documentType !== 'invoice') return undefined;
  const definitions = await tx
    .select()
    .from(agreements)
    .where(and(eq(agreements.companyId, invoice.companyId), eq(agreements.vendorId, invoice.vendorId)))
    .orderBy(asc(agreements.id))
    .for('update');
  if (definitions.length === 0) return undefined;
  const matched = await tx
    .select({ agreementId: agreementMatches.agreementId, invoiceDate: agreementMatches.invoiceDate })
    .from(agreementMatches)
    .where(
      inArray(
        agreementMatches.agreementId,
        definitions.map((d) => d.id),
      ),
    );
  const dates: Record<string, string[]> = {};
  for (const m of matched) (dates[m.agreementId] ??= []).push(m.invoiceDate);
  const outcome = matchAgreement(definitions, invoice, dates);
  for (const miss of outcome.nearMisses) {
    await audit(tx, {
      companyId: invoice.companyId,
      invoiceId: invoice.id,
      actor: 'system',
      kind: 'agreement_miss',
      message: `Agreement ${miss.agreementId} not applied (${miss.criterion}): ${miss.message}`,
      data: { agreementId: miss.agreementId, criterion: miss.criterion },
      eventKey: `${invoice.workflowId}:agreement-miss:${miss.agreementId}`,
    });
  }
  const match = outcome.match ? definitions.find((d) => d.id === outcome.match!.id)! : undefined;
  if (!match) return undefined;
  await tx
    .insert(agreementMatches)
    .values({ invoiceId: invoice.id, agreementId: match.id, invoiceDate: invoice.invoiceDate, gross: invoice.gross });
  await tx
    .update(agreements)
    .set({ cumulativeTotal: sql`${agreements.cumulativeTotal} + ${invoice.gross}::numeric` })
    .where(eq(agreements.id, match.id));
  await audit(tx, {
    companyId: invoice.companyId,
    invoiceId: invoice.id,
    actor: 'system',
    kind: 'agreement_matched',
    message: `Agreement invoice: matched agreement ${match.id}; ${invoice.gross} ${invoice.currency} added to its cumulative total ${match.cumulativeTotal}`,
    data: { agreementId: match.id },
    eventKey: `${invoice.workflowId}:agreement`,
  });
  return match;
}

/** The first instant (UTC) of the month, quarter or year that `at` falls in. */
export function startOfPeriod(at: Date, period: 'monthly' | 'quarterly' | 'yearly'): Date {
  const year = at.getUTCFullYear();
  const month = period === 'yearly' ? 0 : period === 'quarterly' ? at.getUTCMonth() - (at.getUTCMonth() % 3) : at.getUTCMonth();
  return new Date(Date.UTC(year, month, 1));
}
