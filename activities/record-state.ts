/**
 * Projects a workflow snapshot into Postgres: the invoice's stage, its tasks and the per-user work
 * queue index, the signatures, the audit trail, and the mails to send (into the outbox, which the
 * worker's dispatcher delivers, so a mail outage never holds an invoice up).
 */
import { z } from 'zod';
import { postgresClientOf, type Db } from '../db/client';
import { STAGES } from '../domain/stages';
import type { InvoiceState } from '../workflows/definitions';
import { activity, invoiceNotFound } from './failures';

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

/** A timestamp as the projection stores it: the instant at millisecond precision, as JavaScript's Date has it. */
const instant = (value: string | undefined) => (value ? new Date(value).toISOString() : null);

/** One statement writes a row once: a row or task named twice counts with its last copy, as when they were written one by one. */
const lastById = <T>(items: readonly T[], key: (item: T) => string) => [...new Map(items.map((i) => [key(i), i])).values()];

/**
 * The snapshot as the rows the statement writes, each collection one JSON array (the statement reads
 * them with `jsonb_to_recordset`): its text and the number of its parameters stay the same whatever
 * the number of rows, so it is prepared once per connection.
 */
function projectionRows(s: InvoiceState, firstHistoryIndex: number) {
  const tasks = lastById(s.tasks, (t) => t.id);
  return {
    history: s.history.map((h, i) => ({
      n: firstHistoryIndex + i,
      at: instant(h.at),
      actor: h.actor,
      kind: h.outcome === 'refused' ? `${h.action}_refused` : h.action,
      message: h.message,
      data: { stage: h.stage, outcome: h.outcome },
    })),
    mails: (s.mails ?? []).map((m) => ({ key: m.key, kind: m.kind, task_id: m.taskId, to_users: m.to })),
    rows: lastById(s.rows, (r) => r.rowId).map((r) => ({
      row_id: r.rowId,
      reviewed_by: r.reviewedBy ?? null,
      reviewed_at: instant(r.reviewedAt),
      approved_by: r.approvedBy ?? null,
      approved_at: instant(r.approvedAt),
      second_approved_by: r.secondApprovedBy ?? null,
      second_approved_at: instant(r.secondApprovedAt),
    })),
    tasks: tasks.map((t) => ({
      id: t.id,
      stage: t.stage,
      step: t.step,
      mode: t.mode,
      state: t.state,
      assignees: t.assignees,
      acted_by: t.actedBy,
      action: t.action ?? null,
      message: t.message ?? null,
      reminded_at: instant(t.remindedAt),
      escalated_at: instant(t.escalatedAt),
      opened_at: instant(t.openedAt),
      closed_at: instant(t.closedAt),
    })),
    // The work queue's per-user index follows the tasks: an open task is in the queue of those it
    // still waits for; whoever acted finds it among their done tasks.
    taskUsers: tasks.flatMap((t) => {
      const common = { task_id: t.id, state: t.state, opened_at: instant(t.openedAt) };
      const waiting = t.state === 'open' ? t.assignees.filter((u) => !t.actedBy.includes(u)) : t.assignees;
      return [
        ...[...new Set(waiting)].map((user_id) => ({ ...common, user_id, relation: 'assignee' })),
        ...[...new Set(t.actedBy)].map((user_id) => ({ ...common, user_id, relation: 'actor' })),
      ];
    }),
  };
}

export function recordStateActivity({ db, clock }: { db: Db; clock: () => Date }) {
  // The postgres.js client under drizzle: its tagged queries are prepared statements, so after the
  // first call on a connection a projection is one Bind/Execute round trip (drizzle's `execute`
  // parses, describes and plans a statement again each time, in two round trips).
  const client = postgresClientOf(db, 'recordState');

  /**
   * The whole projection as one statement: atomic without a transaction, one round trip. Postgres
   * runs a statement on one snapshot, taken before it waits for the invoice row's lock; so it writes
   * only if the invoice's seq is still the one its snapshot saw (`seen`). Then no other projection
   * of this invoice committed in between, and the index rows it reads to delete the stale ones are
   * all there are. If one did, it writes nothing and answers `applied: false` with `seenSeq` below
   * this snapshot's seq: run it again, on a new snapshot.
   */
  const project = (companyId: string, s: InvoiceState, rows: ReturnType<typeof projectionRows>) => client<
    { seenSeq: number; applied: boolean }[]
  >`
    with
      seen as (
        select id, workflow_id, workflow_seq from invoices where id = ${s.invoiceId}::uuid
      ),
      advanced as (
        update invoices i
        set stage = ${s.stage}, workflow_seq = ${s.seq}::int, updated_at = ${clock().toISOString()}::timestamptz
        from seen
        where i.id = seen.id and i.workflow_seq = seen.workflow_seq and seen.workflow_seq < ${s.seq}::int
        returning i.id
      ),
      -- Keyed entries go in once the outcome is known: the state applied, or not newer.
      settled as (
        select id, workflow_id from seen where workflow_seq >= ${s.seq}::int or exists (select from advanced)
      ),
      history as (
        insert into audit_events (company_id, invoice_id, at, actor, kind, message, data, event_key)
        select ${companyId}::uuid, settled.id, h.at, h.actor, h.kind, h.message, h.data, settled.workflow_id || ':h' || h.n
        from settled,
          jsonb_to_recordset(${JSON.stringify(rows.history)}::jsonb)
            as h(n bigint, at timestamptz, actor text, kind text, message text, data jsonb)
        on conflict (event_key) do nothing
      ),
      mails as (
        insert into mail_outbox (company_id, invoice_id, key, kind, task_id, to_users)
        select ${companyId}::uuid, settled.id, m.key, m.kind, m.task_id, m.to_users
        from settled, jsonb_to_recordset(${JSON.stringify(rows.mails)}::jsonb) as m(key text, kind text, task_id text, to_users text[])
        on conflict (key) do nothing
      ),
      -- Only rows of this invoice; a row whose signatures are as stored is left alone.
      signatures as (
        update coding_rows c
        set reviewed_by = r.reviewed_by, reviewed_at = r.reviewed_at,
            approved_by = r.approved_by, approved_at = r.approved_at,
            second_approved_by = r.second_approved_by, second_approved_at = r.second_approved_at
        from advanced,
          jsonb_to_recordset(${JSON.stringify(rows.rows)}::jsonb)
            as r(row_id uuid, reviewed_by text, reviewed_at timestamptz, approved_by text, approved_at timestamptz,
                 second_approved_by text, second_approved_at timestamptz)
        where c.id = r.row_id and c.invoice_id = advanced.id
          and (c.reviewed_by, c.reviewed_at, c.approved_by, c.approved_at, c.second_approved_by, c.second_approved_at)
            is distinct from (r.reviewed_by, r.reviewed_at, r.approved_by, r.approved_at, r.second_approved_by, r.second_approved_at)
      ),
      task_input as (
        select * from jsonb_to_recordset(${JSON.stringify(rows.tasks)}::jsonb)
          as t(id text, stage text, step int, mode text, state text, assignees text[], acted_by text[],
               action text, message text, reminded_at timestamptz, escalated_at timestamptz, opened_at timestamptz,
               closed_at timestamptz)
      ),
      task_rows as (
        insert into tasks (id, invoice_id, company_id, stage, step, mode, state, assignees, acted_by, action, message,
                           reminded_at, escalated_at, opened_at, closed_at)
        select t.id, advanced.id, ${companyId}::uuid, t.stage, t.step, t.mode, t.state, t.assignees, t.acted_by, t.action, t.message,
               t.reminded_at, t.escalated_at, t.opened_at, t.closed_at
        from advanced, task_input t
        on conflict (id) do update
        set stage = excluded.stage, step = excluded.step, mode = excluded.mode, state = excluded.state,
            assignees = excluded.assignees, acted_by = excluded.acted_by, action = excluded.action, message = excluded.message,
            reminded_at = excluded.reminded_at, escalated_at = excluded.escalated_at, opened_at = excluded.opened_at,
            closed_at = excluded.closed_at
        where (tasks.stage, tasks.step, tasks.mode, tasks.state, tasks.assignees, tasks.acted_by, tasks.action, tasks.message,
               tasks.reminded_at, tasks.escalated_at, tasks.opened_at, tasks.closed_at)
          is distinct from (excluded.stage, excluded.step, excluded.mode, excluded.state, excluded.assignees, excluded.acted_by,
               excluded.action, excluded.message, excluded.reminded_at, excluded.escalated_at, excluded.opened_at, excluded.closed_at)
      ),
      index_input as (
        select * from jsonb_to_recordset(${JSON.stringify(rows.taskUsers)}::jsonb)
          as x(user_id text, task_id text, relation text, state text, opened_at timestamptz)
      ),
      -- The index rows of these tasks become exactly index_input: the others go, these are upserted
      -- (two disjoint sets, so the two statements never touch the same row).
      stale_index as (
        delete from task_users tu
        using advanced
        where tu.task_id in (select id from task_input)
          and not exists (
            select from index_input x where x.user_id = tu.user_id and x.task_id = tu.task_id and x.relation = tu.relation
          )
      ),
      fresh_index as (
        insert into task_users (user_id, task_id, relation, invoice_id, state, opened_at)
        select x.user_id, x.task_id, x.relation, advanced.id, x.state, x.opened_at
        from advanced, index_input x
        on conflict (user_id, task_id, relation) do update
        set invoice_id = excluded.invoice_id, state = excluded.state, opened_at = excluded.opened_at
        where (task_users.invoice_id, task_users.state, task_users.opened_at)
          is distinct from (excluded.invoice_id, excluded.state, excluded.opened_at)
      )
    select workflow_seq as "seenSeq", exists (select from advanced) as applied from seen
  `;

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
        const rows = projectionRows(s, firstHistoryIndex);
        // Each run that loses to another projection saw the stored seq rise and stay below this
        // snapshot's, so the runs end, at the latest when the stored seq is this one's minus one.
        for (let lastSeen = -1; ;) {
          const [outcome] = await project(companyId, s, rows);
          if (!outcome) throw invoiceNotFound(s.invoiceId);
          if (outcome.applied) return { applied: true };
          if (outcome.seenSeq >= s.seq) return { applied: false };
          if (outcome.seenSeq <= lastSeen)
            throw new Error(`invoice ${s.invoiceId}: the projection neither applied nor lost to a newer one`);
          lastSeen = outcome.seenSeq;
        }
      },
    ),
  };
}
