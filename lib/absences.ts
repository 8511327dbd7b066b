/**
 * Absences take effect on their own: when a user's absence period begins, the open tasks they
 * are an assignee of are resolved again (the `refresh` action, in the worker's name), and routing
 * gives each to the user's substitute, or the next qualifying person. Run by the worker's poller,
 * and by `PUT /users/:id/absence` at once when the period has already begun. Each absence moves
 * the tasks once (`absence_applied_at`); a refresh is idempotent per absence and invoice anyway.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, gt, isNotNull, isNull, lt, lte, or } from 'drizzle-orm';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { SYSTEM_ACTOR } from '../domain/routing/assign';
import { ACTION_REFUSED, refreshUpdate, type Refusal } from '../workflows/definitions';
import { mapConcurrent } from './concurrency';
import { invoicesWaitingOn } from './invoice-workflows';
import type { Logger } from './logger';

export interface AbsenceMoves {
  /** Users whose absence began and whose open tasks were all moved. */
  users: number;
  /** Invoices whose open task was resolved again. */
  invoices: number;
}

/** Moves the open tasks of every user whose absence has begun and not been applied yet (or of `userIds` only). */
export async function moveTasksOfAbsentUsers(
  db: Db,
  temporal: Client,
  opts: { now?: Date; userIds?: readonly string[]; log?: Logger } = {},
): Promise<AbsenceMoves> {
  const now = opts.now ?? new Date();
  const due = await db
    .select({ id: users.id, companyId: users.companyId, from: users.absentFrom, until: users.absentUntil })
    .from(users)
    .where(
      and(
        isNotNull(users.absentFrom),
        lte(users.absentFrom, now),
        gt(users.absentUntil, now),
        or(isNull(users.absenceAppliedAt), lt(users.absenceAppliedAt, users.absentFrom)),
      ),
    );
  const moves: AbsenceMoves = { users: 0, invoices: 0 };
  for (const user of due.filter((u) => !opts.userIds || opts.userIds.includes(u.id))) {
    const open = await invoicesWaitingOn(db, user.companyId, [user.id]);
    const reason = `${user.id} is absent until ${user.until!.toISOString()}`;
    const outcomes = await mapConcurrent(open, 8, async ({ invoiceId, workflowId }) => {
      try {
        await temporal.workflow.getHandle(workflowId).executeUpdate(refreshUpdate, {
          args: [{ by: SYSTEM_ACTOR, reason }],
          // Per round: a refusal kept under an earlier round's id would answer every later round the same.
          updateId: `absence-${user.id}-${user.from!.getTime()}-${now.getTime()}`,
        });
        return true;
      } catch (err) {
        // Finished, or its task closed meanwhile: nothing to move. Any other refusal (a lookup that
        // failed for now) is tried again next round.
        if (err instanceof WorkflowNotFoundError || /workflow execution already completed/i.test(String(err))) return true;
        if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ACTION_REFUSED) {
          const code = (err.cause.details?.[0] as Refusal | undefined)?.code;
          if (code === 'finished' || code === 'no_open_task') return true;
        }
        opts.log?.warn({ err, invoiceId, userId: user.id }, 'moving a task of an absent user failed; trying again next round');
        return false;
      }
    });
    moves.invoices += outcomes.filter(Boolean).length;
    if (!outcomes.every(Boolean)) continue;
    await db
      .update(users)
      .set({ absenceAppliedAt: now })
      .where(and(eq(users.id, user.id), eq(users.absentFrom, user.from!)));
    moves.users += 1;
  }
  if (moves.users > 0) opts.log?.info(moves, 'moved the open tasks of absent users');
  return moves;
}
