import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';

const { queuePastDueDigests } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export interface PastDueRemindersInput {
  /** The day (YYYY-MM-DD) whose digests to queue; default the run's day (UTC). The digest key holds the day, so a day mails once. */
  day?: string;
}

/** Daily (schedule `past-due-reminders`): each user with open tasks on past-due invoices gets one digest mail. */
export async function pastDueRemindersWorkflow(input: PastDueRemindersInput = {}): Promise<{ users: number; queued: number }> {
  // The workflow's clock is deterministic: the day is the run's start day.
  const day = input.day ?? new Date().toISOString().slice(0, 10);
  return queuePastDueDigests({ day });
}
