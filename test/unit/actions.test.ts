import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { addHistoryActions, emptyActionCount, updateTaskMillis } from '../../bench/actions';

// The benchmark's action counter, on histories recorded from real runs (test/histories).
async function count(name: string) {
  const json: unknown = JSON.parse(await readFile(path.join(__dirname, '..', 'histories', `${name}.json`), 'utf8'));
  const c = emptyActionCount();
  const next = addHistoryActions(c, historyFromJSON(json).events ?? []);
  return { c, next };
}

describe('billable actions from a history', () => {
  it('counts the human path: start, three updates, seven activities, five upserts, one task with a patch marker', async () => {
    const { c, next } = await count('posted-after-review-and-approval');
    expect(c).toEqual({
      starts: 1,
      signals: 0,
      updates: 3,
      activities: 7,
      activityRetries: 0,
      // The `task-timers` patch marker: markers are billed once per workflow task (counted on the safe side).
      localActivityTasks: 1,
      timers: 0,
      // The SDK's TemporalChangeVersion upsert for that patch is exempt.
      searchAttributeUpserts: 5,
      continueAsNew: 0,
      total: 17,
    });
    expect(next).toBeUndefined();
  });

  it('counts the same path before the patch: the same upserts, no marker', async () => {
    const { c } = await count('v1-posted-after-review-and-approval');
    expect(c.searchAttributeUpserts).toBe(5);
    expect(c.total).toBe(16);
  });

  it('counts the human path since local activities and the first step at intake: ten actions', async () => {
    const { c } = await count('v3-posted-after-review-and-approval');
    // One billed action per workflow task with markers; the patch's TemporalChangeVersion upsert is exempt.
    expect(c).toEqual({
      starts: 1,
      signals: 0,
      updates: 3,
      activities: 0,
      activityRetries: 0,
      localActivityTasks: 3,
      timers: 0,
      searchAttributeUpserts: 3,
      continueAsNew: 0,
      total: 10,
    });
  });

  it('counts a touchless agreement invoice: start, one workflow task of local activities, one upsert', async () => {
    const { c } = await count('v3-touchless-agreement-invoice');
    expect(c).toMatchObject({ starts: 1, activities: 0, localActivityTasks: 1, searchAttributeUpserts: 1, total: 3 });
  });

  it('reads how long the worker held each workflow task that took an Update', async () => {
    const json: unknown = JSON.parse(
      await readFile(path.join(__dirname, '..', 'histories', 'v3-posted-after-review-and-approval.json'), 'utf8'),
    );
    const millis = updateTaskMillis(historyFromJSON(json).events ?? []);
    // Recorded on a loaded machine: register, review, approve (the first task, the start's, took no Update).
    expect(millis).toEqual([1915, 859, 985]);
  });

  it('counts signals, refused ones included (they are delivered and billed)', async () => {
    const { c } = await count('refused-signal-then-approve-signal');
    expect(c).toMatchObject({
      starts: 1,
      signals: 2,
      updates: 0,
      activities: 4,
      localActivityTasks: 1,
      searchAttributeUpserts: 2,
      total: 10,
    });
  });

  it('adds activity retries and follows continue-as-new', () => {
    const c = emptyActionCount();
    const next = addHistoryActions(c, [
      { workflowExecutionStartedEventAttributes: {} },
      { activityTaskScheduledEventAttributes: {} },
      { activityTaskStartedEventAttributes: { attempt: 3 } },
      { timerStartedEventAttributes: {} },
      { workflowExecutionContinuedAsNewEventAttributes: { newExecutionRunId: 'run-2' } },
    ]);
    expect(next).toBe('run-2');
    addHistoryActions(c, [{ workflowExecutionStartedEventAttributes: { continuedExecutionRunId: 'run-1' } }]);
    expect(c).toMatchObject({ starts: 1, activities: 1, activityRetries: 2, timers: 1, continueAsNew: 1, total: 6 });
  });
});
