import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';

const { runAgreementCheck, resetAgreementTotals } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export interface AgreementCheckInput {
  /** Days after an agreement's next invoice was due before it is reported as overdue. */
  graceDays: number;
}

/** Daily (schedule `agreement-check`): e-mails each company's admins about overdue and nearly used-up agreements. */
export async function agreementCheckWorkflow(input: AgreementCheckInput): Promise<{ companiesMailed: number }> {
  // The workflow's clock is deterministic; the day is the schedule's run day.
  const day = new Date().toISOString().slice(0, 10);
  return runAgreementCheck({ day, graceDays: input.graceDays });
}

/** Daily (schedule `agreement-cumulative-reset`): resets cumulative totals whose period has ended. */
export async function agreementResetWorkflow(): Promise<{ reset: number }> {
  return resetAgreementTotals({ now: new Date().toISOString() });
}
