import { Worker } from '@temporalio/worker';
import { loadHistories } from '../histories';

describe('replay of recorded histories', () => {
  it('the current workflow code replays every recorded invoice history without nondeterminism', async () => {
    const histories = await loadHistories();
    expect(histories.length).toBeGreaterThanOrEqual(3);
    const bundlePath = process.env.TEST_WORKFLOW_BUNDLE!;
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: bundlePath } }, histories as never)) {
      results.push({ workflowId: result.workflowId, error: result.error ? String(result.error) : undefined });
    }
    expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
    // Tens of histories, one replay worker each: a few seconds on a quiet machine, minutes on a loaded one.
  }, 300_000);
});
