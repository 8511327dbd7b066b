/**
 * The activities of the v1 invoice workflow (workflows/legacy), kept with their names and shapes
 * for invoices started before routing v2 until none runs. They share the v2 building blocks; the
 * v1 task mails go through the same outbox, so a mail outage no longer holds a v1 invoice up.
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { lockInvoice } from '../db/locks';
import { codingRows, flowTemplates, invoices, mailOutbox } from '../db/schema';
import { signableRows } from '../domain/approval';
import { durationMs, resolveAssignees, type AssigneeSpec } from '../domain/flow';
import { requiredApprovalsFor } from '../domain/routing/assign';
import type { DelegateLookup, InvoiceContext, ResolvedStep } from '../workflows/legacy/definitions-v1';
import { loadDirectory, loadRules, loadUser, partnered } from './directory';
import { activity, invoiceNotFound } from './failures';
import { agreementFacts, codeInvoice, templateFor } from './prepare-routing';

export function legacyV1Activities({ db, clock }: { db: Db; clock: () => Date }) {
  return {
    /** v1: coding, agreement and the whole flow resolved once at intake. */
    prepareInvoice: activity(z.object({ invoiceId: z.uuid() }), async ({ invoiceId }): Promise<InvoiceContext> => {
      return db.transaction(async (tx) => {
        await lockInvoice(tx, invoiceId);
        const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId));
        if (!invoice) throw invoiceNotFound(invoiceId);
        const { rows, agreement, codingProblem } = await codeInvoice(tx, invoice, clock);
        const directory = await loadDirectory(tx, invoice.companyId);
        const flow = await templateFor(tx, flowTemplates, invoice, agreement ? agreement.flowTemplateId : undefined);
        const rowInfo = rows.map((r) => ({ id: r.id, kind: r.kind, dimensions: r.dimensions }));
        const steps: ResolvedStep[] = (flow?.steps ?? []).map((step) => {
          const assignees = resolveAssignees(step.assignees, directory, rowInfo);
          const signable: Record<string, string[]> = {};
          if (step.kind === 'approval') {
            for (const id of assignees)
              signable[id] = signableRows(
                directory.find((u) => u.id === id)!,
                invoice,
                rowInfo,
              );
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
          ...(agreement ? { agreement: agreementFacts(agreement) } : {}),
          clerks: resolveAssignees({ roles: ['clerk'] }, directory),
          admins: resolveAssignees({ roles: ['admin'] }, directory),
          steps,
          requiredApprovals: requiredApprovalsFor(invoice.gross, await loadRules(tx, invoice.companyId)),
        };
      });
    }),

    /** v1: whether a task may be delegated to a user, with the rows they may sign in approval. */
    lookupDelegate: activity(
      z.object({ invoiceId: z.uuid(), userId: z.string(), stage: z.string() }),
      async ({ invoiceId, userId, stage }): Promise<DelegateLookup> => {
        const [invoice] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
        const user = await loadUser(db, userId);
        if (!invoice || !user || !user.active) return { found: false, reason: `There is no active user ${userId}`, signable: [] };
        if (user.companyId !== invoice.companyId && !(await partnered(db, invoice.companyId, user.companyId))) {
          return { found: false, reason: `${userId} is in an environment without a partnership with this one`, signable: [] };
        }
        if (stage !== 'approval') return { found: true, signable: [] };
        const rows = await db.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId));
        return { found: true, signable: signableRows(user, invoice, rows) };
      },
    ),

    /** v1: the active users of a company that a spec of users, groups and roles names. */
    resolveAssigneeSpec: activity(
      z.object({
        companyId: z.uuid(),
        spec: z.object({
          users: z.array(z.string()).optional(),
          groups: z.array(z.string()).optional(),
          roles: z.array(z.string()).optional(),
        }),
      }),
      async ({ companyId, spec }): Promise<string[]> => resolveAssignees(spec as AssigneeSpec, await loadDirectory(db, companyId)),
    ),

    /** v1: a reminder or escalation mail, now queued in the outbox (sent by the dispatcher). */
    sendTaskEmail: activity(
      z.object({ invoiceId: z.uuid(), taskId: z.string(), kind: z.enum(['reminder', 'escalation']), to: z.array(z.string()) }),
      async ({ invoiceId, taskId, kind, to }): Promise<{ sent: number }> => {
        const [invoice] = await db.select({ companyId: invoices.companyId }).from(invoices).where(eq(invoices.id, invoiceId));
        if (!invoice) return { sent: 0 };
        await db
          .insert(mailOutbox)
          .values({ companyId: invoice.companyId, invoiceId, key: `${taskId}:${kind}`, kind, taskId, toUsers: to })
          .onConflictDoNothing({ target: mailOutbox.key });
        return { sent: to.length };
      },
    ),
  };
}
