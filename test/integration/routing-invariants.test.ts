/**
 * Every way issue 11 found to leave an invoice waiting for ever or paid without a valid approval,
 * reproduced on the real stack, now completing or refused with a reason.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { approvalLimits, auditEvents, flowTemplates, mailOutbox, settings } from '../../db/schema';
import { invoiceWorkflowId, searchAttributes, stateQuery } from '../../workflows/definitions';
import { addUser as addUserTo, invoiceBody, startStack, vendorWithFlow, waitFor, waitForStage, type Stack } from '../harness';
import { recordHistory } from '../histories';
import { startSmtp, type TestSmtp } from '../smtp';

let stack: Stack;
let smtp: TestSmtp;
let smtpPort: number;
/** Invoices whose posting fails (as a database outage would) this many more times. */
const postingOutage = new Map<string, number>();
beforeAll(async () => {
  smtp = await startSmtp();
  smtpPort = Number.parseInt(new URL(smtp.url).port, 10);
  stack = await startStack({
    smtpUrl: smtp.url,
    wrapActivities: (real) => ({
      ...real,
      async postInvoice(input) {
        const left = postingOutage.get(input.invoiceId) ?? 0;
        if (left > 0) {
          postingOutage.set(input.invoiceId, left - 1);
          throw new Error('connection refused (simulated database outage)');
        }
        return real.postInvoice(input);
      },
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
  await smtp?.stop();
});

const u = (name: string) => stack.company.users[name]!;
const slug = () => u('alice').split('.')[0]!;

async function intake(overrides: Record<string, unknown> = {}, as = 'alice'): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as, body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  await waitForStage(stack, res.body.id, 'new');
  return res.body.id as string;
}

const act = (as: string, id: string, action: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  stack.api('POST', `/api/v1/invoices/${id}/actions/${action}`, { as, body, headers });
const admin = (id: string, action: string, body: unknown = {}) =>
  stack.api('POST', `/api/v1/admin/invoices/${id}/${action}`, { as: 'erin', body });

const addUser = (name: string, opts: Parameters<typeof addUserTo>[2]) => addUserTo(stack, name, opts);

async function openTask(id: string): Promise<{ id: string; stage: string; assignees: string[]; actedBy: string[] }> {
  const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' });
  return (detail.body.tasks as { id: string; state: string; stage: string; assignees: string[]; actedBy: string[] }[]).find(
    (t) => t.state === 'open',
  )!;
}

describe('no invoice waits on a task nobody can close', () => {
  it('approval in mode all: carol and dave both approve, each approval recorded, then it is posted', async () => {
    const vendorId = await vendorWithFlow(stack, 'Both approve', [
      { kind: 'approval', assignees: { users: [u('carol'), u('dave')] }, mode: 'all' },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    expect((await act('carol', id, 'approve')).body).toMatchObject({
      stage: 'approval',
      moved: false,
      openTask: { assignees: [u('dave')] },
    });
    expect(await act('carol', id, 'approve')).toMatchObject({ status: 409, body: { error: { code: 'already_acted' } } });
    expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment', moved: true });
    const detail = await waitForStage(stack, id, 'posted');
    const approval = (detail.tasks as { stage: string; actedBy: string[] }[]).find((t) => t.stage === 'approval');
    expect(approval?.actedBy).toEqual([u('carol'), u('dave')]);
    await recordHistory(stack.temporal.workflow.getHandle(invoiceWorkflowId(id)), 'v3-approval-all-mode');
  });

  it('an over-limit invoice goes to an approver who may sign it, and reassigned to dave he approves it', async () => {
    const vendorId = await vendorWithFlow(stack, 'Carol only', [{ kind: 'approval', assignees: { users: [u('carol')] } }]);
    const id = await intake({ vendor: { id: vendorId }, net: '40000.00', tax: '10000.00', gross: '50000.00', lines: [] });
    await act('alice', id, 'approve');
    const task = await openTask(id);
    expect(task).toMatchObject({ stage: 'approval', assignees: [u('dave')] });
    const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' });
    expect(detail.body.audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: expect.stringMatching(/carol is not given the approval task: has no approval rights/) }),
      ]),
    );
    expect((await admin(id, 'reassign', { taskId: task.id, to: { users: [u('dave')] }, reason: 'dave signs large invoices' })).status).toBe(
      200,
    );
    expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
    await waitForStage(stack, id, 'posted');
  });

  it('a confidential invoice is registered by a cleared clerk and reviewed by a cleared admin, never by bob', async () => {
    await addUser('cleo', { roles: ['clerk'], confidential: true });
    const id = await intake({ confidential: true }, 'cleo');
    expect((await openTask(id)).assignees).toEqual([u('cleo')]);
    expect(await act('alice', id, 'approve')).toMatchObject({ status: 404 });
    expect((await act('cleo', id, 'approve')).body).toMatchObject({ stage: 'review', openTask: { assignees: [u('erin')] } });
    expect((await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'bob' })).status).toBe(404);
  });

  it('a malformed reassign signal is refused and audited, and a normal approval follows', async () => {
    const id = await intake();
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    await handle.signal('reassign', { by: u('erin'), to: { users: 5 } } as never);
    const state = await waitFor(
      () => handle.query(stateQuery),
      (s) => s.history.some((h) => h.outcome === 'refused'),
    );
    expect(state.history.find((h) => h.outcome === 'refused')?.message).toMatch(/reassign payload is not valid: to.users/);
    expect((await act('alice', id, 'approve')).body).toMatchObject({ stage: 'review' });
    await act('bob', id, 'approve');
    await act('dave', id, 'approve');
    await waitForStage(stack, id, 'posted');
    // The projection says posted a moment before the workflow returns.
    await waitFor(
      async () => (await handle.describe()).status.name,
      (status) => status === 'COMPLETED',
    );
    await recordHistory(handle, 'v3-malformed-signal-then-approval');
  });

  it('a double approve with the same task id approves once: the second is refused as changed concurrently', async () => {
    const vendorId = await vendorWithFlow(stack, 'Dave twice', [
      { kind: 'review', assignees: { users: [u('dave')] } },
      { kind: 'approval', assignees: { users: [u('dave')] } },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    const review = await openTask(id);
    // Three clicks at once: one approves, the others find the task gone (never the next task approved).
    const clicks = await Promise.all([1, 2, 3].map(() => act('dave', id, 'approve', { taskId: review.id })));
    expect(clicks.map((c) => c.status).sort()).toEqual([200, 409, 409]);
    expect(clicks.filter((c) => c.status === 409).map((c) => c.body.error.code)).toEqual(['changed_concurrently', 'changed_concurrently']);
    expect((await openTask(id)).stage).toBe('approval');
  });

  it('an Idempotency-Key is scoped to user, invoice and action: the same key for reject is a new action', async () => {
    const id = await intake();
    const headers = { 'idempotency-key': 'click-1' };
    expect((await act('alice', id, 'approve', {}, headers)).body).toMatchObject({ stage: 'review' });
    expect((await act('alice', id, 'approve', {}, headers)).body).toMatchObject({ stage: 'review' });
    expect(await act('bob', id, 'reject', { reason: 'wrong vendor' }, headers)).toMatchObject({ status: 200, body: { stage: 'rejected' } });
  });
});

describe('no invoice is paid without a valid approval', () => {
  it('without any flow template, registration is refused with the reason; once there is one, it goes on', async () => {
    const id = await intake();
    const flows = (await stack.api('GET', '/api/v1/flow-templates', { as: 'erin' })).body.items as { id: string; isDefault: boolean }[];
    const standard = flows.find((f) => f.isDefault)!;
    await stack.database.db.update(flowTemplates).set({ isDefault: false }).where(eq(flowTemplates.id, standard.id));
    try {
      const refused = await act('alice', id, 'approve');
      expect(refused).toMatchObject({
        status: 409,
        body: { error: { code: 'no_route', message: expect.stringContaining('No flow template applies') } },
      });
      expect((await openTask(id)).stage).toBe('new');
    } finally {
      await stack.database.db.update(flowTemplates).set({ isDefault: true }).where(eq(flowTemplates.id, standard.id));
    }
    expect((await act('alice', id, 'approve')).body).toMatchObject({ stage: 'review' });
  });

  it('an agreement whose approval user lacks rights is refused when saved, and leaves its invoices manual when the rights go later', async () => {
    const body = {
      vendorId: stack.company.vendorId,
      amountFrom: '1.00',
      amountTo: '500000.00',
      days: 1,
      codingTemplateId: stack.company.codingTemplateId,
      referencePattern: 'RIGHTS-*',
    };
    const asClerk = await stack.api('POST', '/api/v1/agreements', { as: 'erin', body: { ...body, approvalUserId: u('alice') } });
    expect(asClerk).toMatchObject({
      status: 422,
      body: { error: { details: [{ path: 'approvalUserId', message: expect.stringContaining('approver role') }] } },
    });
    const aboveLimit = await stack.api('POST', '/api/v1/agreements', { as: 'erin', body: { ...body, approvalUserId: u('carol') } });
    expect(aboveLimit).toMatchObject({
      status: 422,
      body: { error: { details: [{ path: 'approvalUserId', message: expect.stringContaining('below') }] } },
    });

    const frank = await addUser('frank', { roles: ['approver'], limit: null });
    const created = await stack.api('POST', '/api/v1/agreements', { as: 'erin', body: { ...body, approvalUserId: frank } });
    expect(created.status).toBe(201);
    await stack.database.db.update(approvalLimits).set({ amount: '10000.00' }).where(eq(approvalLimits.userId, frank));
    const res = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      body: invoiceBody(stack, { buyerReference: 'RIGHTS-1', net: '400000.00', tax: '100000.00', gross: '500000.00', lines: [] }),
    });
    const detail = await waitForStage(stack, res.body.id, 'new');
    expect((detail.codingRows as { approvalSignature: unknown }[]).every((r) => r.approvalSignature === null)).toBe(true);
    expect(detail.audit).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'agreement_miss', message: expect.stringContaining('(approval_user)') })]),
    );
  });

  it('a threshold with more decimals than a currency has is refused; with cents it applies exactly to a JPY invoice', async () => {
    expect(await stack.api('PATCH', '/api/v1/settings', { as: 'erin', body: { twoApproverThreshold: '1000.005' } })).toMatchObject({
      status: 422,
    });
    expect((await stack.api('PATCH', '/api/v1/settings', { as: 'erin', body: { twoApproverThreshold: '1000.50' } })).status).toBe(200);
    try {
      const id = await intake({ currency: 'JPY', net: '801', tax: '200', gross: '1001', lines: [] });
      await act('alice', id, 'approve');
      await act('bob', id, 'approve');
      expect((await act('carol', id, 'approve')).body).toMatchObject({ stage: 'approval', openTask: { assignees: [u('dave')] } });
      expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
      await waitForStage(stack, id, 'posted');
    } finally {
      await stack.database.db.update(settings).set({ twoApproverThreshold: null }).where(eq(settings.companyId, stack.company.companyId));
    }
  });

  it('a zero-amount invoice is refused at intake, with the reason', async () => {
    const res = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      body: invoiceBody(stack, { net: '0.00', tax: '0.00', gross: '0.00', lines: [] }),
    });
    expect(res).toMatchObject({ status: 422, body: { error: { details: [expect.objectContaining({ path: 'gross' })] } } });
  });
});

describe('nothing stalls on a failing dependency', () => {
  it('with the SMTP server down an invoice is approved and posted; the reminder is delivered once it is back', async () => {
    await smtp.stop();
    let back = false;
    try {
      const vendorId = await vendorWithFlow(stack, 'Reminder while SMTP is down', [
        { kind: 'review', assignees: { users: [u('bob')] }, reminderAfter: '1s' },
        { kind: 'approval', assignees: { roles: ['approver'] } },
      ]);
      const id = await intake({ vendor: { id: vendorId } });
      await act('alice', id, 'approve');
      const [queued] = await waitFor(
        () => stack.database.db.select().from(mailOutbox).where(eq(mailOutbox.invoiceId, id)),
        (rows) => rows.length === 1 && rows[0]!.attempts > 0,
        15_000,
      );
      expect(queued).toMatchObject({ kind: 'reminder', sentAt: null, lastError: expect.any(String) });
      expect((await act('bob', id, 'approve')).body).toMatchObject({ stage: 'approval' });
      expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
      await waitForStage(stack, id, 'posted');
      smtp = await startSmtp(smtpPort);
      back = true;
      // The dispatcher tries again after its back-off (5 s after the first failure, then longer).
      await stack.database.db
        .update(mailOutbox)
        .set({ nextAttemptAt: new Date() })
        .where(and(eq(mailOutbox.invoiceId, id), isNull(mailOutbox.sentAt)));
      const number = (await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' })).body.invoiceNumber as string;
      const mails = await waitFor(
        async () => smtp.messages.filter((m) => m.subject.includes(number)),
        (m) => m.length === 1,
        15_000,
      );
      expect(mails[0]).toMatchObject({ to: [`bob@${slug()}.example`], subject: expect.stringMatching(/^Reminder/) });
      // The dispatcher commits its records after the SMTP server has taken the mail.
      const audit = await waitFor(
        () =>
          stack.database.db
            .select()
            .from(auditEvents)
            .where(and(eq(auditEvents.invoiceId, id), eq(auditEvents.kind, 'reminder_email'))),
        (rows) => rows.length > 0,
        5_000,
      );
      expect(audit).toHaveLength(1);
    } finally {
      if (!back) smtp = await startSmtp(smtpPort);
    }
  });

  it('an invoice whose posting keeps failing is findable by BlockedOn in the Web UI, and posts once the database is back', async () => {
    const id = await intake();
    // Five attempts within seconds, then the workflow waits 10 s with BlockedOn set, then tries again.
    postingOutage.set(id, 5);
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
    const workflowId = invoiceWorkflowId(id);
    await waitFor(
      async () => {
        const found: string[] = [];
        for await (const w of stack.temporal.workflow.list({ query: `BlockedOn = "postInvoice" AND WorkflowId = "${workflowId}"` }))
          found.push(w.workflowId);
        return found;
      },
      (found) => found.includes(workflowId),
      20_000,
    );
    const detail = await waitForStage(stack, id, 'posted');
    expect((detail.audit as { kind: string }[]).filter((a) => a.kind === 'posting')).toHaveLength(1);
    const handle = stack.temporal.workflow.getHandle(workflowId);
    expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.BlockedOn)).toBeUndefined();
    await recordHistory(handle, 'v3-posting-retried-after-failures');
  });
});
