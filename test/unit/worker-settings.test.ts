import { loadWorkerSettings } from '../../worker/settings';

describe('worker settings from the environment', () => {
  it('without WORKER_* variables the cache holds 100 workflows and 40 workflow tasks run at once', () => {
    expect(loadWorkerSettings({})).toEqual({
      capacity: {
        maxCachedWorkflows: 100,
        maxConcurrentWorkflowTaskExecutions: 40,
        maxConcurrentActivityTaskExecutions: 100,
        maxConcurrentLocalActivityExecutions: 100,
      },
    });
  });

  it('an empty variable counts as unset, not as 0 (compose passes ${VAR:-} as empty)', () => {
    expect(loadWorkerSettings({ WORKER_MAX_CACHED_WORKFLOWS: '', WORKER_METRICS_ADDRESS: '' })).toEqual(loadWorkerSettings({}));
  });

  it('a cache smaller than 40 also limits the workflow tasks run at once, as the SDK requires', () => {
    expect(loadWorkerSettings({ WORKER_MAX_CACHED_WORKFLOWS: '20' }).capacity.maxConcurrentWorkflowTaskExecutions).toBe(20);
  });

  it('a cache of 0 turns the cache off and keeps 40 workflow tasks at once', () => {
    expect(loadWorkerSettings({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).capacity).toMatchObject({
      maxCachedWorkflows: 0,
      maxConcurrentWorkflowTaskExecutions: 40,
    });
  });

  it('takes every variable it is given, and the metrics address', () => {
    expect(
      loadWorkerSettings({
        WORKER_MAX_CACHED_WORKFLOWS: '500',
        WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '60',
        WORKER_MAX_CONCURRENT_ACTIVITIES: '30',
        WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '20',
        WORKER_METRICS_ADDRESS: '0.0.0.0:9464',
      }),
    ).toEqual({
      capacity: {
        maxCachedWorkflows: 500,
        maxConcurrentWorkflowTaskExecutions: 60,
        maxConcurrentActivityTaskExecutions: 30,
        maxConcurrentLocalActivityExecutions: 20,
      },
      metricsAddress: '0.0.0.0:9464',
    });
  });

  it('refuses at start what the SDK would silently change, naming every bad variable', () => {
    expect(() => loadWorkerSettings({ WORKER_MAX_CACHED_WORKFLOWS: '1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be 0/);
    expect(() => loadWorkerSettings({ WORKER_MAX_CACHED_WORKFLOWS: '10', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '20' })).toThrow(
      /WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: must not exceed WORKER_MAX_CACHED_WORKFLOWS/,
    );
    expect(() => loadWorkerSettings({ WORKER_MAX_CONCURRENT_ACTIVITIES: 'many', WORKER_METRICS_ADDRESS: 'localhost' })).toThrow(
      /WORKER_MAX_CONCURRENT_ACTIVITIES[\s\S]*WORKER_METRICS_ADDRESS: expected host:port/,
    );
  });
});
