/**
 * Billable Temporal actions per invoice, counted from real histories the way Temporal Cloud
 * counts them, and the human path's round trips.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { mapConcurrent } from '../lib/concurrency';
import { invoiceWorkflowId } from '../workflows/definitions';
import { percentile, postInvoice, type Rig } from './batch-speed';

/** USD per million actions (Temporal Cloud's list price for the first 5 M a month). */
export const USD_PER_MILLION_ACTIONS = 50;

export interface ActionCount {
  starts: number;
  signals: number;
  updates: number;
  activities: number;
  activityRetries: number;
  /** Workflow tasks that recorded markers (local activities, patches): one action each, however many. */
  localActivityTasks: number;
  timers: number;
  searchAttributeUpserts: number;
  continueAsNew: number;
  total: number;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

export function emptyActionCount(): ActionCount {
  return {
    starts: 0,
    signals: 0,
    updates: 0,
    activities: 0,
    activityRetries: 0,
    localActivityTasks: 0,
    timers: 0,
    searchAttributeUpserts: 0,
    continueAsNew: 0,
    total: 0,
  };
}

/**
 * Adds one run's billable actions to `c` (and its total); returns the run it continued as, if any.
 * Updates refused by a validator never reach history and queries are not in it; the API sends
 * neither on the measured paths.
 */
export function addHistoryActions(c: ActionCount, events: HistoryEvent[]): string | undefined {
  let next: string | undefined;
  // Temporal Cloud bills all the markers (local activity results, patches) of one workflow task as one action.
  const markerTasks = new Set<string>();
  let task = '0';
  for (const e of events) {
    if (e.workflowTaskCompletedEventAttributes) task = String(e.eventId);
    if (e.markerRecordedEventAttributes) markerTasks.add(task);
    if (e.workflowExecutionStartedEventAttributes && !e.workflowExecutionStartedEventAttributes.continuedExecutionRunId) c.starts += 1;
    if (e.workflowExecutionSignaledEventAttributes) c.signals += 1;
    if (e.workflowExecutionUpdateAcceptedEventAttributes) c.updates += 1;
    if (e.activityTaskScheduledEventAttributes) c.activities += 1;
    const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
    if (attempt > 1) c.activityRetries += attempt - 1;
    if (e.timerStartedEventAttributes) c.timers += 1;
    // The SDK's own TemporalChangeVersion upsert (patches) is exempt.
    const upserted = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
    if (upserted.some((key) => key !== 'TemporalChangeVersion')) c.searchAttributeUpserts += 1;
    if (e.workflowExecutionContinuedAsNewEventAttributes) {
      c.continueAsNew += 1;
      next = e.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId ?? undefined;
    }
  }
  c.localActivityTasks += markerTasks.size;
  c.total =
    c.starts +
    c.signals +
    c.updates +
    c.activities +
    c.activityRetries +
    c.localActivityTasks +
    c.timers +
    c.searchAttributeUpserts +
    c.continueAsNew;
  return next;
}

/** How long the worker held each workflow task that took an Update (started to completed, from the history), in order. */
export function updateTaskMillis(events: HistoryEvent[]): number[] {
  const at = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const millis: number[] = [];
  let started: number | undefined;
  events.forEach((e, i) => {
    if (e.workflowTaskStartedEventAttributes) started = at(e);
    // An Update is accepted right after the completion of the workflow task that took it.
    if (e.workflowTaskCompletedEventAttributes && started !== undefined && events[i + 1]?.workflowExecutionUpdateAcceptedEventAttributes)
      millis.push(at(e) - started);
  });
  return millis;
}

/** One workflow's billable actions across all its runs, read from the server's histories. */
export async function countActions(client: Client, workflowId: string): Promise<ActionCount> {
  const c = emptyActionCount();
  let runId: string | undefined =
    (await client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.firstRunId ?? undefined;
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runId = addHistoryActions(c, history.events ?? []);
  }
  return c;
}

export interface HumanPathFigure {
  invoices: number;
  wallSeconds: number;
  invoicesPerSecond: number;
  /** Round trips through the API; `workerP50ms`: of that, the median time the worker held the Update's workflow task (its local activities included). */
  actions: { name: string; p50ms: number; p95ms: number; p99ms: number; workerP50ms?: number }[];
  actionsPerInvoice: ActionCount;
}

async function call(rig: Rig, as: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${rig.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${rig.tokens[as]}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Intake, then registration, review and approval through the API, invoice by invoice, 16 invoices at a time. */
export async function humanPathFigure(rig: Rig, count: number): Promise<HumanPathFigure> {
  const latencies: Record<string, number[]> = { intake: [], register: [], review: [], approve: [] };
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await f();
    latencies[name]!.push(performance.now() - t);
    return result;
  };
  const started = performance.now();
  const ids = await mapConcurrent(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const id = await timed('intake', () => postInvoice(rig, rig.vendorId, `HUMAN-${Date.now()}-${i}`, '2026-11-01', '2026-12-01'));
      await timed('register', () => call(rig, 'alice', 'POST', `/invoices/${id}/actions/approve`, {}));
      await timed('review', () => call(rig, 'bob', 'POST', `/invoices/${id}/actions/approve`, {}));
      await timed('approve', () => call(rig, 'carol', 'POST', `/invoices/${id}/actions/approve`, {}));
      return id;
    },
  );
  const wall = performance.now() - started;
  const sample = await countActions(rig.client, invoiceWorkflowId(ids[0]!));
  // Where an action's time goes: the worker's share, from the histories of up to 20 invoices.
  const workerMillis: number[][] = [[], [], []];
  for (const id of ids.slice(0, 20)) {
    const history = await rig.client.workflow.getHandle(invoiceWorkflowId(id)).fetchHistory();
    updateTaskMillis(history.events ?? []).forEach((ms, i) => workerMillis[i]?.push(ms));
  }
  const workerP50 = (i: number) => {
    const sorted = [...(workerMillis[i] ?? [])].sort((a, b) => a - b);
    return sorted.length > 0 ? { workerP50ms: percentile(sorted, 50) } : {};
  };
  return {
    invoices: count,
    wallSeconds: wall / 1000,
    invoicesPerSecond: count / (wall / 1000),
    actions: Object.entries(latencies).map(([name, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const update = ['register', 'review', 'approve'].indexOf(name);
      return {
        name,
        p50ms: percentile(sorted, 50),
        p95ms: percentile(sorted, 95),
        p99ms: percentile(sorted, 99),
        ...(update >= 0 ? workerP50(update) : {}),
      };
    }),
    actionsPerInvoice: sample,
  };
}
