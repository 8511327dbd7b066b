import { eq } from 'drizzle-orm';
import { agreementMatches, agreements, auditEvents } from '../../db/schema';
import { startOfPeriod } from '../../activities';
import { AGREEMENT_CHECK_SCHEDULE, AGREEMENT_RESET_SCHEDULE, ensureSchedules } from '../../worker/schedules';
import { invoiceBody, startStack, waitFor, type Stack } from '../harness';
import { startSmtp, type TestSmtp } from '../smtp';

let stack: Stack;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp();
  stack = await startStack({ smtpUrl: smtp.url });
});
afterAll(async () => {
  await stack?.stop();
  await smtp?.stop();
});

/** Runs a schedule now and waits for the workflow it started to finish. */
async function runNow(scheduleId: string): Promise<unknown> {
  const handle = stack.temporal.schedule.getHandle(scheduleId);
  const before = (await handle.describe()).info.recentActions.length;
  await handle.trigger();
  const described = await waitFor(
    () => handle.describe(),
    (d) => d.info.recentActions.length > before,
  );
  const started = described.info.recentActions.at(-1)!.action.workflow;
  return stack.temporal.workflow.getHandle(started.workflowId, started.firstExecutionRunId).result();
}

describe('agreement schedules', () => {
  it('are created idempotently and visible as Temporal Schedules', async () => {
    await ensureSchedules(stack.temporal, 5);
    await ensureSchedules(stack.temporal, 5);
    const ids = [];
    for await (const s of stack.temporal.schedule.list()) ids.push(s.scheduleId);
    expect(ids).toEqual(expect.arrayContaining([AGREEMENT_CHECK_SCHEDULE, AGREEMENT_RESET_SCHEDULE]));
  });

  it('the daily check e-mails the admins about overdue and nearly used-up agreements, once a day', async () => {
    const base = {
      vendorId: stack.company.vendorId,
      amountFrom: '1.00',
      amountTo: '100000.00',
      codingTemplateId: stack.company.codingTemplateId,
      approvalUserId: stack.company.users.dave,
    };
    const overdue = (await stack.api('POST', '/api/v1/agreements', { as: 'erin', body: { ...base, days: 30 } })).body;
    const nearCap = (
      await stack.api('POST', '/api/v1/agreements', {
        as: 'erin',
        body: { ...base, days: 1, invoiceNumber: 'NEVER', cumulativeCap: '10000.00' },
      })
    ).body;
    const invoice = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      body: invoiceBody(stack, { invoiceDate: '2026-01-05', dueDate: '2026-02-05' }),
    });
    await waitFor(
      () => stack.database.db.select().from(agreementMatches).where(eq(agreementMatches.invoiceId, invoice.body.id)),
      (rows) => rows.length === 1,
    );
    await stack.database.db.update(agreements).set({ cumulativeTotal: '9000.00' }).where(eq(agreements.id, nearCap.id));
    // A deactivated agreement, overdue and at its cap, is not reported: it expects nothing more.
    const retired = (
      await stack.api('POST', '/api/v1/agreements', {
        as: 'erin',
        body: { ...base, days: 1, invoiceNumber: 'RETIRED', cumulativeCap: '1.00' },
      })
    ).body;
    await stack.database.db.update(agreements).set({ cumulativeTotal: '1.00', active: false }).where(eq(agreements.id, retired.id));

    await ensureSchedules(stack.temporal, 5);
    await runNow(AGREEMENT_CHECK_SCHEDULE);
    const slug = stack.company.users.erin!.split('.')[0];
    const mails = await waitFor(
      async () => smtp.messages.filter((m) => m.to.includes(`erin@${slug}.example`)),
      (m) => m.length >= 1,
    );
    expect(mails[0]!.subject).toMatch(/^Agreement check \d{4}-\d{2}-\d{2}: 2 findings/);
    expect(mails[0]!.text).toContain(
      `Overdue: the next invoice from Paper & Pens Ltd under agreement ${overdue.id} was expected by 2026-02-09`,
    );
    expect(mails[0]!.text).toMatch(new RegExp(`agreement ${nearCap.id} with Paper & Pens Ltd stands at 9000(\\.00)? of its cap 10000`));
    expect(mails[0]!.text).not.toContain(retired.id);

    await runNow(AGREEMENT_CHECK_SCHEDULE);
    expect(smtp.messages.filter((m) => m.to.includes(`erin@${slug}.example`))).toHaveLength(1);
  });

  it('the reset job clears totals whose period has ended, once per period', async () => {
    const created = (
      await stack.api('POST', '/api/v1/agreements', {
        as: 'erin',
        body: {
          vendorId: stack.company.vendorId,
          amountFrom: '1.00',
          amountTo: '2.00',
          days: 1,
          resetPeriod: 'yearly',
          codingTemplateId: stack.company.codingTemplateId,
          approvalUserId: stack.company.users.dave,
        },
      })
    ).body;
    await stack.database.db
      .update(agreements)
      .set({ cumulativeTotal: '777.00', lastResetAt: new Date('2025-06-01T00:00:00Z') })
      .where(eq(agreements.id, created.id));
    await runNow(AGREEMENT_RESET_SCHEDULE);
    const [after] = await stack.database.db.select().from(agreements).where(eq(agreements.id, created.id));
    expect(after).toMatchObject({ cumulativeTotal: '0', lastResetAt: startOfPeriod(new Date(), 'yearly') });
    await runNow(AGREEMENT_RESET_SCHEDULE);
    const resets = await stack.database.db.select().from(auditEvents).where(eq(auditEvents.kind, 'agreement_reset'));
    expect(resets.filter((r) => r.message.includes(created.id))).toHaveLength(1);
  });
});
