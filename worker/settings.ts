/**
 * The invoice worker's cache and concurrency settings, read from the environment (WORKER_*) and
 * validated once at start. An invoice waits days for people between bursts of a few seconds of
 * work, so the sticky cache only needs the workflows that are working now: an evicted workflow's
 * next task fetches and replays its history instead (bench/cache-miss.ts measures that cost).
 */
import { z } from 'zod';

// An empty value (`VAR=` or compose's `${VAR:-}`) means unset, not 0.
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const count = (min: number) => z.coerce.number().int().min(min);

const WorkerSettingsSchema = z
  .object({
    /** Workflows kept in the sticky cache; 0 turns the cache off (every workflow task replays). */
    WORKER_MAX_CACHED_WORKFLOWS: z.preprocess(unsetIfEmpty, count(0).default(100)),
    /** Workflow tasks run at once; default 40, or the cache size when that is smaller. */
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.preprocess(unsetIfEmpty, count(2).optional()),
    /** Activities run at once (they share the worker's database pool). */
    WORKER_MAX_CONCURRENT_ACTIVITIES: z.preprocess(unsetIfEmpty, count(1).default(100)),
    /** Local activities run at once. */
    WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: z.preprocess(unsetIfEmpty, count(1).default(100)),
    /** host:port for the SDK's Prometheus metrics (sticky cache size, hits, misses, replay latency); unset: none. */
    WORKER_METRICS_ADDRESS: z.preprocess(
      unsetIfEmpty,
      z
        .string()
        .regex(/^[^\s:]+:\d+$/, 'expected host:port')
        .optional(),
    ),
  })
  .refine((s) => s.WORKER_MAX_CACHED_WORKFLOWS !== 1, {
    message: 'must be 0 (no cache) or at least 2',
    path: ['WORKER_MAX_CACHED_WORKFLOWS'],
  })
  .refine(
    (s) =>
      s.WORKER_MAX_CACHED_WORKFLOWS === 0 ||
      s.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS === undefined ||
      s.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS <= s.WORKER_MAX_CACHED_WORKFLOWS,
    {
      message: 'must not exceed WORKER_MAX_CACHED_WORKFLOWS (a running workflow task holds a cache slot)',
      path: ['WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'],
    },
  );

/** The Temporal worker options the settings stand for. */
export interface WorkerCapacity {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentLocalActivityExecutions: number;
}

export interface WorkerSettings {
  capacity: WorkerCapacity;
  metricsAddress?: string;
}

/** Parses the WORKER_* variables (defaults when unset); throws one readable error listing every bad one. */
export function loadWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const parsed = WorkerSettingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid worker settings:\n${problems}`);
  }
  const s = parsed.data;
  const cache = s.WORKER_MAX_CACHED_WORKFLOWS;
  return {
    capacity: {
      maxCachedWorkflows: cache,
      maxConcurrentWorkflowTaskExecutions: s.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS ?? (cache === 0 ? 40 : Math.min(40, cache)),
      maxConcurrentActivityTaskExecutions: s.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentLocalActivityExecutions: s.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
    },
    ...(s.WORKER_METRICS_ADDRESS ? { metricsAddress: s.WORKER_METRICS_ADDRESS } : {}),
  };
}

/**
 * How the worker process itself is best started (docker-compose.yml and the bench's rig do so;
 * WORKER_NODE_OPTIONS and WORKER_MALLOC_ARENA_MAX there override them): a 1 MiB V8 young
 * generation per isolate (the main thread and the workflow thread) instead of up to 32 MiB, and
 * two glibc malloc arenas for the SDK's native threads instead of up to eight per core. Measured
 * (bench/README.md): the 1 MiB young generation alone keeps 120 MiB less resident after 300
 * approvals (284 against 407 MiB) for 3–4 ms more worker CPU per approve.
 */
export const WORKER_PROCESS_DEFAULTS = { nodeOptions: '--max-semi-space-size=1', mallocArenaMax: '2' } as const;
