/**
 * What a sticky-cache miss costs the people who wait on it: the final approval of invoices whose
 * workflows were pushed out of the worker's cache (more invoices registered since than the cache
 * holds) against invoices whose workflows are cached, one approval at a time, interleaved.
 */
import { mapConcurrent } from '../lib/concurrency';
import { invoiceWorkflowId } from '../workflows/definitions';
import { call, intakeInvoices, percentile, type Rig } from './batch-speed';

export interface CacheMissFigure {
  /** Approvals of each kind. */
  count: number;
  cachedP50ms: number;
  cachedP90ms: number;
  evictedP50ms: number;
  evictedP90ms: number;
  /** Invoices registered between the two groups, to push the first group out of the cache. */
  flushed: number;
  /** History events of an evicted invoice when it was approved (what the worker fetched and replayed). */
  historyEvents: number;
  /** The worker's own count of sticky-cache misses during the approvals, when its metrics are on. */
  workerCacheMisses?: number;
}

async function act(rig: Rig, as: string, id: string): Promise<number> {
  const t = performance.now();
  const res = await call(rig, as, 'POST', `/invoices/${id}/actions/approve`, {});
  if (!res.ok) throw new Error(`approve of ${id} by ${as} answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
  return performance.now() - t;
}

/** N invoices registered and reviewed, each waiting for carol's approval. */
async function waitingForApproval(rig: Rig, count: number, tag: string): Promise<string[]> {
  const ids = await intakeInvoices(rig, count, tag);
  await mapConcurrent(ids, 8, async (id) => {
    await act(rig, 'alice', id);
    await act(rig, 'bob', id);
  });
  return ids;
}

/** Sum of a Prometheus counter over its label sets, from the worker's metrics endpoint. */
async function counter(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').at(-1));
  return sum;
}

/**
 * `count` approvals of evicted and of cached invoice workflows. `cacheSize` is the worker's
 * WORKER_MAX_CACHED_WORKFLOWS; `metricsUrl` its Prometheus endpoint (WORKER_METRICS_ADDRESS), if on.
 */
export async function cacheMissFigure(rig: Rig, opts: { count: number; cacheSize: number; metricsUrl?: string }): Promise<CacheMissFigure> {
  const tag = `MISS-${Date.now()}`;
  const evictedIds = await waitingForApproval(rig, opts.count, `${tag}-A`);
  const flushed = opts.cacheSize + 50;
  await intakeInvoices(rig, flushed, `${tag}-FLUSH`);
  const cachedIds = await waitingForApproval(rig, opts.count, `${tag}-B`);
  const historyEvents = Number((await rig.client.workflow.getHandle(invoiceWorkflowId(evictedIds[0]!)).describe()).historyLength);
  const missesBefore = opts.metricsUrl ? await counter(opts.metricsUrl, 'temporal_sticky_cache_miss') : 0;
  const cached: number[] = [];
  const evicted: number[] = [];
  for (let i = 0; i < opts.count; i++) {
    cached.push(await act(rig, 'carol', cachedIds[i]!));
    evicted.push(await act(rig, 'carol', evictedIds[i]!));
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  return {
    count: opts.count,
    cachedP50ms: percentile(sorted(cached), 50),
    cachedP90ms: percentile(sorted(cached), 90),
    evictedP50ms: percentile(sorted(evicted), 50),
    evictedP90ms: percentile(sorted(evicted), 90),
    flushed,
    historyEvents,
    ...(opts.metricsUrl ? { workerCacheMisses: (await counter(opts.metricsUrl, 'temporal_sticky_cache_miss')) - missesBefore } : {}),
  };
}
