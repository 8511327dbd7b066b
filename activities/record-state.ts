/**
 * Projects a workflow snapshot into Postgres: the invoice's stage, its tasks and the per-user work
 * queue index, the signatures, the audit trail, and the mails to send (into the outbox, which the
 * worker's dispatcher delivers, so a mail outage never holds an invoice up).
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, lt } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { auditEvents, codingRows, invoices, mailOutbox, taskUsers, tasks } from '../db/schema';
import { STAGES } from '../domain/stages';
import type { InvoiceState } from '../workflows/definitions';
import { activity } from './failures';

const id = z.string().min(1).max(300);
const at = z.iso.datetime({ offset: true });
const StateSchema = z.object({
  invoiceId: z.uuid(),
  stage: z.enum(STAGES),
  seq: z.number().int().min(0),
  tasks: z
    .array(
      z.object({
        id,
        stage: z.enum(STAGES),
        step: z.number().int(),
        mode: z.enum(['any', 'all']),
        state: z.enum(['open', 'done']),
        assignees: z.array(id),
        actedBy: z.array(id),
        action: z.string().optional(),
        message: z.string().optional(),
        remindedAt: at.optional(),
        escalatedAt: at.optional(),
        openedAt: at,
        closedAt: at.optional(),
      }),
    )
    .max(10_000),
  rows: z
    .array(
      z.object({
        rowId: z.uuid(),
        reviewedBy: id.optional(),
        reviewedAt: at.optional(),
        approvedBy: id.optional(),
        approvedAt: at.optional(),
        secondApprovedBy: id.optional(),
        secondApprovedAt: at.optional(),
      }),
    )
    .max(20_000),
  history: z.array(
    z.object({
      at,
      actor: z.string().min(1),
      action: z.string().min(1),
      stage: z.enum(STAGES),
      outcome: z.enum(['done', 'refused', 'system']),
      message: z.string(),
    }),
  ),
  mails: z
    .array(
      z.object({
        key: z.string().min(1).max(400),
        kind: z.enum(['reminder', 'escalation', 'supplier_reminder', 'clerk_notice']),
        taskId: id,
        to: z.array(id),
      }),
    )
    .optional(),
});

const date = (value: string | undefined) => (value ? new Date(value) : null);

export function recordStateActivity({ db, clock }: { db: Db; clock: () => Date }) {
  return {
    /**
     * Stage, tasks and signatures are written only when the snapshot is newer than what is stored,
     * so a late retry never overwrites a newer state; history entries and mails are keyed and
     * written once each whatever the order.
     */
    recordState: activity(
      z.strictObject({ companyId: z.uuid(), state: StateSchema, firstHistoryIndex: z.number().int().min(0) }),
      async ({ companyId, state, firstHistoryIndex }): Promise<{ applied: boolean }> => {
        const s = state as InvoiceState;
        return db.transaction(async (tx) => {
          const [invoice] = await tx.select({ workflowId: invoices.workflowId }).from(invoices).where(eq(invoices.id, s.invoiceId));
          if (!invoice) throw ApplicationFailure.nonRetryable(`invoice ${s.invoiceId} does not exist`, 'InvoiceNotFound');
          const workflowId = invoice.workflowId;
          if (s.history.length > 0) {
            await tx
              .insert(auditEvents)
              .values(
                s.history.map((h, i) => ({
                  companyId,
                  invoiceId: s.invoiceId,
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
          if (s.mails && s.mails.length > 0) {
            await tx
              .insert(mailOutbox)
              .values(
                s.mails.map((m) => ({ companyId, invoiceId: s.invoiceId, key: m.key, kind: m.kind, taskId: m.taskId, toUsers: m.to })),
              )
              .onConflictDoNothing({ target: mailOutbox.key });
          }
          const advanced = await tx
            .update(invoices)
            .set({ stage: s.stage, workflowSeq: s.seq, updatedAt: clock() })
            .where(and(eq(invoices.id, s.invoiceId), lt(invoices.workflowSeq, s.seq)))
            .returning({ id: invoices.id });
          if (advanced.length === 0) return { applied: false };
          for (const row of s.rows) {
            await tx
              .update(codingRows)
              .set({
                reviewedBy: row.reviewedBy ?? null,
                reviewedAt: date(row.reviewedAt),
                approvedBy: row.approvedBy ?? null,
                approvedAt: date(row.approvedAt),
                secondApprovedBy: row.secondApprovedBy ?? null,
                secondApprovedAt: date(row.secondApprovedAt),
              })
              .where(and(eq(codingRows.id, row.rowId), eq(codingRows.invoiceId, s.invoiceId)));
          }
          for (const task of s.tasks) {
            const values = {
              stage: task.stage,
              step: task.step,
              mode: task.mode,
              state: task.state,
              assignees: task.assignees,
              actedBy: task.actedBy,
              action: task.action ?? null,
              message: task.message ?? null,
              remindedAt: date(task.remindedAt),
              escalatedAt: date(task.escalatedAt),
              openedAt: new Date(task.openedAt),
              closedAt: date(task.closedAt),
            };
            await tx
              .insert(tasks)
              .values({ id: task.id, invoiceId: s.invoiceId, companyId, ...values })
              .onConflictDoUpdate({ target: tasks.id, set: values });
          }
          // The work queue's per-user index follows the tasks: an open task is in the queue of
          // those it still waits for; whoever acted finds it among their done tasks.
          const taskIds = s.tasks.map((t) => t.id);
          if (taskIds.length > 0) {
            await tx.delete(taskUsers).where(inArray(taskUsers.taskId, taskIds));
            const rows = s.tasks.flatMap((t) => {
              const common = { taskId: t.id, invoiceId: s.invoiceId, state: t.state, openedAt: new Date(t.openedAt) };
              const waiting = t.state === 'open' ? t.assignees.filter((u) => !t.actedBy.includes(u)) : t.assignees;
              return [
                ...[...new Set(waiting)].map((userId) => ({ ...common, userId, relation: 'assignee' as const })),
                ...[...new Set(t.actedBy)].map((userId) => ({ ...common, userId, relation: 'actor' as const })),
              ];
            });
            if (rows.length > 0) await tx.insert(taskUsers).values(rows);
          }
          return { applied: true };
        });
      },
    ),
  };
}
