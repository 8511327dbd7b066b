import { eq } from 'drizzle-orm';
import { codingRows, partnerships, settings } from '../../db/schema';
import { seedCompany } from '../../db/seed';
import { invoiceWorkflowId, stateQuery } from '../../workflows/definitions';
import { addUser as addUserTo, invoiceBody, startStack, vendorWithFlow, waitFor, waitForStage, type Stack } from '../harness';
import { recordHistory } from '../histories';
import { startSmtp, type TestSmtp } from '../smtp';

let stack: Stack;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp();
  stack = await startStack({ smtpUrl: smtp.url, maxHistoryEvents: 60 });
});
afterAll(async () => {
  await stack?.stop();
  await smtp?.stop();
});

const u = (name: string) => stack.company.users[name]!;

async function intake(overrides: Record<string, unknown> = {}, as = 'alice'): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as, body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  await waitForStage(stack, res.body.id, 'new');
  return res.body.id as string;
}

const act = (as: string, id: string, action: string, body: unknown = {}) =>
  stack.api('POST', `/api/v1/invoices/${id}/actions/${action}`, { as, body });
const admin = (as: string, id: string, action: string, body: unknown = {}) =>
  stack.api('POST', `/api/v1/admin/invoices/${id}/${action}`, { as, body });

async function queue(as: string, state = 'open'): Promise<string[]> {
  const res = await stack.api('GET', `/api/v1/work-queue?queue=personal&state=${state}`, { as });
  return (res.body.items as { invoiceId: string }[]).map((i) => i.invoiceId);
}

const addUser = (name: string, opts: { roles?: string[]; costCentres?: string[]; limit?: string | null } = {}) =>
  addUserTo(stack, name, { roles: opts.roles ?? ['approver'], ...opts });

describe('actions on one invoice', () => {
  it('delegate hands the task to a colleague; refuses unknown users and yourself', async () => {
    const id = await intake();
    await act('alice', id, 'approve');
    expect(await act('bob', id, 'delegate', { to: 'nobody.at.all' })).toMatchObject({
      status: 422,
      body: { error: { code: 'unknown_user' } },
    });
    expect(await act('bob', id, 'delegate', { to: u('bob') })).toMatchObject({ status: 422, body: { error: { code: 'invalid_payload' } } });
    expect((await act('bob', id, 'delegate', { to: u('carol'), comment: 'on holiday' })).body).toMatchObject({
      stage: 'review',
      moved: false,
    });
    expect(await queue('bob')).not.toContain(id);
    expect(await queue('carol')).toContain(id);
    expect((await act('carol', id, 'approve')).body).toMatchObject({ stage: 'approval' });
  });

  it('delegates to a user of a partner environment only once the environments are partners', async () => {
    const partner = await seedCompany(stack.database.db, `${u('alice').split('.')[0]}p`);
    const id = await intake();
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    const refused = await act('carol', id, 'delegate', { to: partner.users.dave });
    expect(refused).toMatchObject({
      status: 422,
      body: { error: { code: 'unknown_user', message: expect.stringContaining('partnership') } },
    });
    const [a, b] = [u('alice').split('.')[0]!, partner.users.alice!.split('.')[0]!].sort();
    await stack.database.db.insert(partnerships).values({ environmentA: a!, environmentB: b! });
    expect((await act('carol', id, 'delegate', { to: partner.users.dave })).status).toBe(200);
    const partnerDave = `raw:${partner.tokens.dave}`;
    expect(
      (await stack.api('GET', '/api/v1/work-queue', { as: partnerDave })).body.items.map((i: { invoiceId: string }) => i.invoiceId),
    ).toContain(id);
    expect((await stack.api('GET', `/api/v1/invoices/${id}`, { as: partnerDave })).status).toBe(200);
    expect((await stack.api('GET', `/api/v1/invoices/${id}`, { as: `raw:${partner.tokens.erin}` })).status).toBe(404);
    expect((await act(partnerDave, id, 'approve')).body).toMatchObject({ stage: 'payment' });
  });

  it('not mine leaves a shared task; when nobody else may sign, the invoice goes to exceptions review; an unshared task refuses it', async () => {
    const id = await intake();
    expect(await act('alice', id, 'not-mine')).toMatchObject({ status: 409, body: { error: { code: 'not_shared' } } });
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    expect((await act('carol', id, 'not-mine')).status).toBe(200);
    expect(await queue('carol')).not.toContain(id);
    // erin (admin) has no approval rights and carol left: nobody else may sign, so never a task nobody can close.
    expect((await act('dave', id, 'not-mine')).body).toMatchObject({ stage: 'exceptions_review', openTask: { assignees: [u('alice')] } });
    expect(await queue('alice')).toContain(id);
    const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' });
    expect(detail.body.audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'exceptionsReview', message: expect.stringContaining('Nobody in the company may approve it') }),
      ]),
    );
  });

  it('the last one out of a shared review task hands it to the admins', async () => {
    const vendorId = await vendorWithFlow(stack, 'Two reviewers any', [
      { kind: 'review', assignees: { users: [u('bob'), u('carol')] }, mode: 'any' },
      { kind: 'approval', assignees: { roles: ['approver'] }, mode: 'any' },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    await act('bob', id, 'not-mine');
    expect((await act('carol', id, 'not-mine')).body).toMatchObject({ stage: 'review', openTask: { assignees: [u('erin')] } });
    expect(await queue('erin')).toContain(id);
  });

  it('exceptions review parks the invoice with the clerks, and resolving returns it to its stage', async () => {
    const id = await intake();
    await act('alice', id, 'approve');
    expect(await act('bob', id, 'exceptions-review', {})).toMatchObject({ status: 422 });
    expect((await act('bob', id, 'exceptions-review', { message: 'Price differs from the order' })).body).toMatchObject({
      stage: 'exceptions_review',
    });
    expect(await queue('alice')).toContain(id);
    expect(await act('alice', id, 'approve')).toMatchObject({ status: 409, body: { error: { code: 'wrong_stage' } } });
    expect((await act('alice', id, 'resolve-exception', { comment: 'Supplier confirmed' })).body).toMatchObject({ stage: 'review' });
    expect(await queue('bob')).toContain(id);
    const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'alice' });
    expect(detail.body.tasks).toEqual(expect.arrayContaining([expect.objectContaining({ stage: 'exceptions_review', state: 'done' })]));
  });

  it('mode all waits for every reviewer; mode any needs one', async () => {
    const vendorId = await vendorWithFlow(stack, 'Two reviewers', [
      { kind: 'review', assignees: { users: [u('bob'), u('erin')] }, mode: 'all' },
      { kind: 'approval', assignees: { roles: ['approver'] }, mode: 'any' },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    expect((await act('bob', id, 'approve')).body).toMatchObject({ stage: 'review', moved: false });
    expect(await act('bob', id, 'approve')).toMatchObject({ status: 409, body: { error: { code: 'already_acted' } } });
    expect((await act('erin', id, 'approve')).body).toMatchObject({ stage: 'approval', moved: true });
    expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
  });
});

describe('approval rights', () => {
  it('above the two-approver threshold, two different approvers must sign every row', async () => {
    await stack.database.db
      .update(settings)
      .set({ twoApproverThreshold: '5000.00' })
      .where(eq(settings.companyId, stack.company.companyId));
    try {
      const id = await intake({ net: '5000.00', tax: '1250.00', gross: '6250.00', lines: [] });
      await act('alice', id, 'approve');
      await act('bob', id, 'approve');
      expect((await act('carol', id, 'approve')).body).toMatchObject({ stage: 'approval', moved: false });
      expect(await queue('carol')).not.toContain(id);
      expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
      const rows = await waitFor(
        () => stack.database.db.select().from(codingRows).where(eq(codingRows.invoiceId, id)),
        (r) => r.every((x) => x.secondApprovedBy !== null),
      );
      expect(rows.every((r) => r.approvedBy === u('carol') && r.secondApprovedBy === u('dave'))).toBe(true);
    } finally {
      await stack.database.db.update(settings).set({ twoApproverThreshold: null }).where(eq(settings.companyId, stack.company.companyId));
    }
  });

  it('by dimension: each cost centre owner signs their rows, and the invoice waits for the rest', async () => {
    await addUser('frank', { costCentres: ['CC-100'], limit: null });
    await addUser('grace', { costCentres: ['CC-200'], limit: null });
    const vendorId = await vendorWithFlow(stack, 'By cost centre', [
      { kind: 'approval', assignees: { byDimension: 'costCentre' }, mode: 'any' },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    expect(await queue('frank')).toContain(id);
    expect(await queue('grace')).toContain(id);
    expect((await act('frank', id, 'approve')).body).toMatchObject({ stage: 'approval', moved: false });
    expect(await queue('frank')).not.toContain(id);
    expect((await act('grace', id, 'approve')).body).toMatchObject({ stage: 'payment' });
    const rows = await stack.database.db.select().from(codingRows).where(eq(codingRows.invoiceId, id));
    expect(Object.fromEntries(rows.map((r) => [r.account, r.approvedBy]))).toMatchObject({ '6100': u('frank'), '6200': u('grace') });
  });

  it('whoever submitted an invoice cannot approve it: an admin cannot assign it to them either', async () => {
    await addUser('hank', { roles: ['clerk', 'approver'], limit: null });
    const id = await intake({}, 'hank');
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    const refused = await admin('erin', id, 'reassign', { to: { users: [u('hank')] } });
    expect(refused).toMatchObject({
      status: 409,
      body: { error: { code: 'no_addressee', message: expect.stringContaining('segregation of duties') } },
    });
    expect(await act('hank', id, 'approve')).toMatchObject({ status: 403, body: { error: { code: 'not_assignee' } } });
  });
});

describe('administration, also as the Temporal Web UI does it (signals)', () => {
  it('restart from a stage clears later signatures; reassign moves a task or the invoice', async () => {
    const id = await intake();
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));

    await handle.signal('reassign', { by: u('erin'), to: { users: [u('dave')] }, reason: 'carol is away' });
    // A signal is processed after the server accepts it: wait for its effect.
    await waitFor(
      () => queue('carol'),
      (q) => !q.includes(id),
    );
    expect(await queue('dave')).toContain(id);

    await handle.signal('restart', { by: u('erin'), stage: 'review', reason: 'wrong cost centre' });
    const restarted = await waitFor(
      () => handle.query(stateQuery),
      (s) => s.stage === 'review' && s.history.some((h) => h.action === 'restart'),
    );
    expect(restarted.rows.every((r) => !r.reviewedBy && !r.approvedBy)).toBe(true);
    await waitFor(
      () => queue('bob'),
      (q) => q.includes(id),
    );

    await handle.signal('reassign', { by: u('erin'), stage: 'approval' });
    await waitForStage(stack, id, 'approval');
    await recordHistory(handle, 'v3-restart-and-reassign-by-signal');
  });

  it('refuses admin actions from non-admins: a signal is audited and ignored, the API answers 403', async () => {
    const id = await intake();
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    await handle.signal('restart', { by: u('bob'), stage: 'new' });
    const state = await waitFor(
      () => handle.query(stateQuery),
      (s) => s.history.some((h) => h.outcome === 'refused'),
    );
    expect(state.history.find((h) => h.outcome === 'refused')?.message).toMatch(/must be an active admin/);
    expect(await admin('bob', id, 'restart', {})).toMatchObject({ status: 403 });
    expect(await admin('erin', id, 'reassign', { stage: 'payment' })).toMatchObject({ status: 422 });
    expect(await admin('erin', id, 'reassign', { stage: 'control' })).toMatchObject({
      status: 409,
      body: { error: { code: 'wrong_stage' } },
    });
  });

  it('flow templates: an approval step nobody can approve is refused; only admins write', async () => {
    const bad = await stack.api('POST', '/api/v1/flow-templates', {
      as: 'erin',
      body: { name: 'Clerk approves', steps: [{ kind: 'approval', assignees: { users: [u('alice')] } }] },
    });
    expect(bad).toMatchObject({ status: 422, body: { error: { details: [{ path: 'steps.0.assignees' }] } } });
    const notAdmin = await stack.api('POST', '/api/v1/flow-templates', {
      as: 'bob',
      body: { name: 'x', steps: [{ kind: 'review', assignees: { users: [u('bob')] } }] },
    });
    expect(notAdmin.status).toBe(403);
    const list = await stack.api('GET', '/api/v1/flow-templates', { as: 'bob' });
    expect(list.body.items.map((t: { name: string }) => t.name)).toContain('Review and approval');
  });
});

describe('durable timers', () => {
  it('sends a reminder, then escalates to the escalation assignees, by real e-mail', async () => {
    const vendorId = await vendorWithFlow(stack, 'Quick reminders', [
      { kind: 'review', assignees: { users: [u('bob')] }, reminderAfter: '1s', escalateAfter: '3s', escalateTo: { users: [u('erin')] } },
      { kind: 'approval', assignees: { roles: ['approver'] } },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    const number = (await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'alice' })).body.invoiceNumber as string;
    const mails = await waitFor(
      async () => smtp.messages.filter((m) => m.subject.includes(number)),
      (m) => m.length >= 2,
      15_000,
    );
    expect(mails[0]).toMatchObject({ to: [`bob@${u('bob').split('.')[0]}.example`], subject: expect.stringMatching(/^Reminder/) });
    expect(mails[1]).toMatchObject({ to: [`erin@${u('erin').split('.')[0]}.example`], subject: expect.stringMatching(/^Escalated/) });
    // The mail goes out just before the escalated task is written.
    await waitFor(
      () => queue('erin'),
      (q) => q.includes(id),
    );
    const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' });
    expect(detail.body.audit.map((a: { kind: string }) => a.kind)).toEqual(
      expect.arrayContaining(['reminder_email', 'escalation_email', 'reminder', 'escalation']),
    );
    expect((await act('erin', id, 'approve')).body).toMatchObject({ stage: 'approval' });
    await recordHistory(stack.temporal.workflow.getHandle(invoiceWorkflowId(id)), 'v3-reminder-and-escalation');
  });

  it('continues as new when the history grows, and carries on with nothing lost or doubled', async () => {
    const id = await intake();
    await act('alice', id, 'approve');
    // Pass the review task back and forth until the history passes the test limit of 60 events.
    for (let i = 0; i < 8; i++) {
      const [from, to] = i % 2 === 0 ? ['bob', 'carol'] : ['carol', 'bob'];
      expect((await act(from!, id, 'delegate', { to: u(to!) })).status).toBe(200);
    }
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    const latest = await waitFor(
      () => handle.describe(),
      (d) => d.runId !== d.raw.workflowExecutionInfo?.firstRunId,
    );
    expect(latest.status.name).toBe('RUNNING');
    await act('bob', id, 'approve');
    await act('dave', id, 'approve');
    const detail = await waitForStage(stack, id, 'posted');
    const kinds = (detail.audit as { kind: string }[]).map((a) => a.kind);
    expect(kinds.filter((k) => k === 'delegate')).toHaveLength(8);
    expect(kinds.filter((k) => k === 'post')).toHaveLength(1);
    // The last run, which started from the handed-over state.
    await recordHistory(handle, 'v3-continued-as-new');
  });
});

describe('authorisation on every invoice route', () => {
  it('another company and a user without confidential clearance never see the invoice', async () => {
    const outsider = await seedCompany(stack.database.db, `${u('alice').split('.')[0]}x2`);
    const id = await intake();
    const secret = await intake({ confidential: true });
    const routes: [string, string, unknown?][] = [
      ['GET', `/api/v1/invoices/${id}`],
      ['GET', `/api/v1/invoices/${id}/document`],
      ['POST', `/api/v1/invoices/${id}/actions/approve`, {}],
      ['POST', `/api/v1/invoices/${id}/actions/reject`, { reason: 'x' }],
      ['POST', `/api/v1/invoices/${id}/actions/delegate`, { to: u('bob') }],
      ['POST', `/api/v1/invoices/${id}/actions/not-mine`, {}],
      ['POST', `/api/v1/invoices/${id}/actions/exceptions-review`, { message: 'x' }],
      ['POST', `/api/v1/invoices/${id}/actions/resolve-exception`, {}],
      ['POST', `/api/v1/admin/invoices/${id}/restart`, {}],
      ['POST', `/api/v1/admin/invoices/${id}/reassign`, { stage: 'review' }],
    ];
    // Company data of another company is as invisible as its invoices.
    const template = (await stack.api('GET', '/api/v1/flow-templates', { as: 'erin' })).body.items[0].id as string;
    expect((await stack.api('GET', `/api/v1/flow-templates/${template}`, { as: `raw:${outsider.tokens.erin}` })).status).toBe(404);
    expect(
      (await stack.api('PUT', `/api/v1/flow-templates/${template}`, { as: `raw:${outsider.tokens.erin}`, body: { name: 'x', steps: [] } }))
        .status,
    ).toBe(404);
    expect((await stack.api('GET', `/api/v1/vendors/${stack.company.vendorId}`, { as: `raw:${outsider.tokens.erin}` })).status).toBe(404);
    expect(
      (await stack.api('PATCH', `/api/v1/vendors/${stack.company.vendorId}`, { as: `raw:${outsider.tokens.erin}`, body: {} })).status,
    ).toBe(404);
    for (const [method, path, body] of routes) {
      const asOutsider = await stack.api(method, path, { as: `raw:${outsider.tokens.erin}`, ...(body ? { body } : {}) });
      expect([path, asOutsider.status]).toEqual([path, 404]);
      const secretPath = path.replace(id, secret);
      const asBob = await stack.api(method, secretPath, { as: 'bob', ...(body ? { body } : {}) });
      expect([secretPath, asBob.status]).toEqual([secretPath, method === 'POST' && secretPath.includes('/admin/') ? 403 : 404]);
    }
  });
});
