/**
 * Batch actions from the work queue (SPEC 2.1): the same workflow Updates as single actions, one
 * per invoice, with bounded concurrency; each invoice gets its own result in words a clerk
 * understands, and one failure never stops the others.
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { and, eq, inArray, lt } from 'drizzle-orm';
import type { z } from 'zod';
import { invoices, settings, taskUsers } from '../db/schema';
import { mapConcurrent } from '../lib/concurrency';
import type { Logger } from '../lib/logger';
import type { ActionName } from '../workflows/definitions';
import type { CurrentUser } from './auth';
import { ApiError } from './errors';
import { performAction, type ServiceDeps } from './invoices-service';
import type { BatchBody } from './schemas';

/** Updates in flight towards Temporal per batch (the dev server has one SQLite connection). */
export const BATCH_CONCURRENCY = 16;
/** The most invoices "all" takes from a queue. */
export const BATCH_ALL_LIMIT = 5000;

export interface BatchResult {
  invoiceId: string;
  ok: boolean;
  moved?: boolean;
  stage?: string;
  reason?: string;
}

const ACTION: Record<z.infer<typeof BatchBody>['action'], ActionName> = {
  approve: 'approve',
  'exceptions-review': 'exceptionsReview',
  'not-mine': 'notMine',
};

/** Checks the company settings and resolves "all"; throws before anything is applied. */
export async function prepareBatch(
  deps: ServiceDeps,
  user: CurrentUser,
  body: z.infer<typeof BatchBody>,
  today: string,
): Promise<string[]> {
  const [s] = await deps.db.select().from(settings).where(eq(settings.companyId, user.companyId));
  if (!s?.useWorkqueueSend) {
    throw new ApiError(403, 'batch_disabled', 'Batch actions are switched off for this company (setting useWorkqueueSend)');
  }
  if (body.invoiceIds !== 'all') return body.invoiceIds;
  if (!s.allowBatchApproveAll) {
    throw new ApiError(
      403,
      'batch_all_disabled',
      'Acting on all invoices of a queue is switched off for this company (setting allowBatchApproveAll)',
    );
  }
  const filters = [eq(taskUsers.userId, user.id), eq(taskUsers.relation, 'assignee'), eq(taskUsers.state, 'open')];
  if (!user.confidential) filters.push(eq(invoices.confidential, false));
  if (body.queue === 'credit-memo') filters.push(eq(invoices.documentType, 'credit_note'));
  if (body.queue === 'past-due') filters.push(lt(invoices.dueDate, today));
  const rows = await deps.db
    .selectDistinct({ id: taskUsers.invoiceId, openedAt: taskUsers.openedAt })
    .from(taskUsers)
    .innerJoin(invoices, eq(invoices.id, taskUsers.invoiceId))
    .where(and(...filters))
    .orderBy(taskUsers.openedAt)
    .limit(BATCH_ALL_LIMIT);
  return [...new Set(rows.map((r) => r.id))];
}

/** Applies the action to every invoice; `onResult` sees each result as it completes. */
/** One action for many invoices: which, with what payload, and whether each names the user's open task. */
export interface BatchAction {
  action: ActionName;
  payload: Record<string, unknown>;
  /** Name the task the user saw in the queue (work-queue batches): if the invoice moved on meanwhile, it is refused. */
  withTaskIds: boolean;
}

/** The work queue's batch actions as workflow actions. */
export function queueAction(body: z.infer<typeof BatchBody>): BatchAction {
  return { action: ACTION[body.action], payload: body.action === 'exceptions-review' ? { message: body.message } : {}, withTaskIds: true };
}

export async function runBatch(
  deps: ServiceDeps & { log: Logger },
  user: CurrentUser,
  batch: BatchAction,
  invoiceIds: string[],
  opts: { batchId?: string; onResult?: (result: BatchResult, index: number, ms: number) => void } = {},
): Promise<{ batchId: string; results: BatchResult[] }> {
  const batchId = opts.batchId ?? randomUUID();
  const seen = new Set<string>();
  const openTasks = batch.withTaskIds ? await openTasksOf(deps, user, invoiceIds) : new Map<string, string>();
  const results = await mapConcurrent(invoiceIds, BATCH_CONCURRENCY, async (invoiceId, index) => {
    const started = performance.now();
    let result: BatchResult;
    if (seen.has(invoiceId)) {
      result = { invoiceId, ok: false, reason: 'Listed twice in this batch; it was handled once' };
    } else {
      seen.add(invoiceId);
      try {
        // The update id makes a retried batch (same Idempotency-Key) apply each invoice once.
        const taskId = openTasks.get(invoiceId);
        const r = await performAction(
          deps,
          user,
          invoiceId,
          batch.action,
          { ...batch.payload, ...(taskId ? { taskId } : {}) },
          `batch:${user.id}:${batchId}:${batch.action}:${invoiceId}`,
        );
        result = { invoiceId, ok: true, moved: r.moved, stage: r.stage, ...(r.moved ? {} : { reason: r.message }) };
      } catch (err) {
        result = { invoiceId, ok: false, reason: await reasonFor(deps, user, invoiceId, err) };
      }
    }
    opts.onResult?.(result, index, Math.round((performance.now() - started) * 10) / 10);
    return result;
  });
  return { batchId, results };
}

/**
 * Answers a batch: JSON `{results}` in the order given, or with `Accept: application/x-ndjson`
 * one line per invoice as it completes, then a summary, so a caller can follow a large batch.
 */
export async function answerBatch(
  deps: ServiceDeps & { log: Logger },
  user: CurrentUser,
  batch: BatchAction,
  invoiceIds: string[],
  req: Request,
  res: Response,
): Promise<void> {
  const key = req.get('idempotency-key');
  const batchId = key ? `key:${key}` : undefined;
  if (req.accepts(['application/json', 'application/x-ndjson']) === 'application/x-ndjson') {
    res.status(200).type('application/x-ndjson');
    res.write(`${JSON.stringify({ total: invoiceIds.length })}\n`);
    const { results } = await runBatch(deps, user, batch, invoiceIds, {
      ...(batchId ? { batchId } : {}),
      onResult: (result, index, ms) => res.write(`${JSON.stringify({ index, ms, ...result })}\n`),
    });
    res.end(`${JSON.stringify({ done: true, ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length })}\n`);
    return;
  }
  const { results } = await runBatch(deps, user, batch, invoiceIds, batchId ? { batchId } : {});
  res.json({ results });
}

/** The user's open task on each invoice, as the work queue shows it. */
async function openTasksOf(deps: ServiceDeps, user: CurrentUser, invoiceIds: string[]): Promise<Map<string, string>> {
  const rows = await deps.db
    .select({ invoiceId: taskUsers.invoiceId, taskId: taskUsers.taskId })
    .from(taskUsers)
    .where(
      and(
        eq(taskUsers.userId, user.id),
        eq(taskUsers.relation, 'assignee'),
        eq(taskUsers.state, 'open'),
        inArray(taskUsers.invoiceId, invoiceIds),
      ),
    );
  return new Map(rows.map((r) => [r.invoiceId, r.taskId]));
}

/** Why an invoice did not move, in a clerk's words. */
async function reasonFor(deps: ServiceDeps & { log: Logger }, user: CurrentUser, invoiceId: string, err: unknown): Promise<string> {
  if (!(err instanceof ApiError)) {
    deps.log.error({ err, invoiceId }, 'batch action failed');
    return 'It could not be processed just now; nothing was changed. Try it again';
  }
  if (err.status === 404) return 'You cannot see this invoice (it does not exist, or it is not yours to see)';
  if (err.code === 'changed_concurrently') return `Someone else moved this invoice on meanwhile: ${err.message}`;
  if (err.code === 'not_assignee' || err.code === 'no_open_task' || err.code === 'finished') {
    const [mine] = await deps.db
      .select({ taskId: taskUsers.taskId })
      .from(taskUsers)
      .where(
        and(
          eq(taskUsers.userId, user.id),
          eq(taskUsers.invoiceId, invoiceId),
          eq(taskUsers.relation, 'assignee'),
          eq(taskUsers.state, 'done'),
        ),
      )
      .limit(1);
    if (mine) return `Someone else already moved this invoice on, or it changed meanwhile: ${err.message}`;
    if (err.code === 'not_assignee') return `It is not your task: ${err.message}`;
  }
  return err.message;
}
