import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { addHistoryActions, emptyActionCount } from '../../bench/actions';

// The benchmark's action counter, on histories recorded from real runs (test/histories).
async function count(name: string) {
  const json: unknown = JSON.parse(await readFile(path.join(__dirname, '..', 'histories', `${name}.json`), 'utf8'));
  const c = emptyActionCount();
  const next = addHistoryActions(c, historyFromJSON(json).events ?? []);
  return { c, next };
}

describe('billable actions from a history', () => {
  it('counts the human path: start, three updates, seven activities, six upserts', async () => {
    const { c, next } = await count('posted-after-review-and-approval');
    expect(c).toEqual({
      starts: 1,
      signals: 0,
      updates: 3,
      activities: 7,
      activityRetries: 0,
      timers: 0,
      // One of them is the SDK's TemporalChangeVersion upsert for the `task-timers` patch.
      searchAttributeUpserts: 6,
      continueAsNew: 0,
      total: 17,
    });
    expect(next).toBeUndefined();
  });

  it('counts the same path before the patch one upsert lower', async () => {
    const { c } = await count('v1-posted-after-review-and-approval');
    expect(c.searchAttributeUpserts).toBe(5);
    expect(c.total).toBe(16);
  });

  it('counts signals, refused ones included (they are delivered and billed)', async () => {
    const { c } = await count('refused-signal-then-approve-signal');
    expect(c).toMatchObject({ starts: 1, signals: 2, updates: 0, activities: 4, searchAttributeUpserts: 3, total: 10 });
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
