import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { TASK_QUEUE } from '../workflows/definitions';

export const AGREEMENT_CHECK_SCHEDULE = 'agreement-check';
export const AGREEMENT_RESET_SCHEDULE = 'agreement-cumulative-reset';
export const PAST_DUE_SCHEDULE = 'past-due-reminders';

/**
 * The schedules the worker keeps: daily agreement check (06:00 UTC), daily period resets (00:15 UTC)
 * and the daily past-due digest (07:00 UTC).
 */
export function scheduleDefinitions(graceDays: number): ScheduleOptions[] {
  return [
    {
      scheduleId: AGREEMENT_CHECK_SCHEDULE,
      spec: { calendars: [{ hour: 6, minute: 0 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'agreementCheckWorkflow',
        taskQueue: TASK_QUEUE,
        args: [{ graceDays }],
        workflowId: 'agreement-check',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { description: 'E-mails admins about overdue agreement invoices and agreements at 90% of their cap' },
    },
    {
      scheduleId: AGREEMENT_RESET_SCHEDULE,
      spec: { calendars: [{ hour: 0, minute: 15 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'agreementResetWorkflow',
        taskQueue: TASK_QUEUE,
        args: [],
        workflowId: 'agreement-cumulative-reset',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { description: 'Resets agreement cumulative totals whose reset period (monthly, quarterly, yearly) has ended' },
    },
    {
      scheduleId: PAST_DUE_SCHEDULE,
      spec: { calendars: [{ hour: 7, minute: 0 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'pastDueRemindersWorkflow',
        taskQueue: TASK_QUEUE,
        args: [{}],
        workflowId: 'past-due-reminders',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { description: 'E-mails each user one digest of their open tasks on invoices past their due date, once a day' },
    },
  ];
}

/** Creates the schedules, or brings existing ones up to date; safe to call at every worker start. */
export async function ensureSchedules(client: Client, graceDays = 5): Promise<void> {
  for (const options of scheduleDefinitions(graceDays)) {
    try {
      await client.schedule.create(options);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule
        .getHandle(options.scheduleId)
        .update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
    }
  }
}
