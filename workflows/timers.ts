/**
 * Waiting between changes: until an action changes the invoice, it reaches payment, work needs a
 * retry, the history should continue as new, or the open task's reminder or escalation is due.
 * Reminders and escalations are durable timers; their mails go to the outbox, off the main path.
 */
import { condition } from '@temporalio/workflow';
import type { InvoiceRun } from './run';

export async function waitForChangeOrTimer(run: InvoiceRun): Promise<void> {
  const p = run.p;
  const version = p.version;
  const changed = () =>
    p.version !== version || p.stage === 'payment' || run.needsRetry || run.shouldContinueAsNew() || run.projection.unflushed;
  // What this workflow task changed reaches the search attributes in one upsert, before the wait.
  run.projection.flush();
  const timer = p.nextTimer();
  if (!timer) {
    await condition(changed);
    return;
  }
  if (await condition(changed, Math.max(timer.at - Date.now(), 1))) return;
  await run.exclusive(async () => {
    p.fire(timer);
    await run.settleAndPersist();
  });
}
