/**
 * Workflow automation through the API on the real stack: start rules (CRUD, order, each outcome,
 * the audit entry), the inbox and starting by hand, and absence substitutes (a task opened during
 * an absence, one moved when the absence begins, a substitute without rights skipped).
 */
import { randomBytes } from 'node:crypto';
import { moveTasksOfAbsentUsers } from '../../lib/absences';
import { addUser, invoiceBody, startStack, vendorWithFlow, waitFor, waitForStage, type Stack } from '../harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const u = (name: string) => stack.company.users[name]!;
const tag = () => randomBytes(3).toString('hex').toUpperCase();
const act = (as: string, id: string, action: string, body: unknown = {}) =>
  stack.api('POST', `/api/v1/invoices/${id}/actions/${action}`, { as, body });

type Detail = { tasks: { stage: string; state: string; assignees: string[] }[]; audit: { kind: string; message: string }[] };
const detail = async (id: string) =>
  (await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' })).body as Detail & Record<string, unknown>;
const openTask = (d: Detail) => d.tasks.find((t) => t.state === 'open');

async function intake(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Waits until the invoice's open task is in `stage` (and resolved: someone is assigned). */
async function openTaskIn(id: string, stage: string) {
  const d = await waitFor(
    () => detail(id),
    (x) => openTask(x)?.stage === stage && (openTask(x)?.assignees.length ?? 0) > 0,
  );
  return openTask(d)!;
}

const createRule = (body: Record<string, unknown>, as = 'erin') => stack.api('POST', '/api/v1/start-rules', { as, body });

describe('start rules', () => {
  it('are kept in order: inserting at a place moves the others down, deleting closes the gap; admins write, a stale If-Match is refused', async () => {
    const t = tag();
    const rule = (name: string, position?: number) => ({
      name,
      ...(position ? { position } : {}),
      conditions: [{ field: 'invoiceNumber', test: 'startsWith', value: `ORDER-${t}` }],
      outcome: { kind: 'reject', reason: 'test' },
      active: false,
    });
    const first = await createRule(rule(`A ${t}`));
    expect(first.status).toBe(201);
    const second = await createRule(rule(`B ${t}`, first.body.position as number));
    expect(second.body.position).toBe(first.body.position);
    const list = await stack.api('GET', '/api/v1/start-rules', { as: 'alice' });
    const names = (list.body.items as { name: string; position: number }[]).filter((r) => r.name.endsWith(t));
    expect(names.map((r) => r.name)).toEqual([`B ${t}`, `A ${t}`]);
    expect(names[1]!.position).toBe(names[0]!.position + 1);

    expect((await createRule(rule(`C ${t}`), 'alice')).status).toBe(403);
    const bad = await createRule({
      name: 'bad',
      conditions: [{ field: 'invoiceNumber', test: 'matches', value: '^(a+)+$' }],
      outcome: { kind: 'assign', to: { users: ['nobody.at.all'] } },
    });
    expect(bad.status).toBe(422);
    expect((bad.body.error.details as { path: string }[]).map((d) => d.path)).toEqual(expect.arrayContaining(['conditions.0.value']));

    const path = `/api/v1/start-rules/${first.body.id}`;
    const changed = { ...rule(`A2 ${t}`), position: 1 };
    expect((await stack.api('PUT', path, { as: 'erin', body: changed, headers: { 'If-Match': '"v999"' } })).status).toBe(412);
    const current = await stack.api('GET', path, { as: 'erin' });
    const put = await stack.api('PUT', path, { as: 'erin', body: changed, headers: { 'If-Match': current.headers.get('etag')! } });
    expect(put).toMatchObject({ status: 200, body: { name: `A2 ${t}`, position: 1 } });
    expect((await stack.api('DELETE', path, { as: 'erin', headers: { 'If-Match': current.headers.get('etag')! } })).status).toBe(412);
    expect((await stack.api('DELETE', path, { as: 'erin', headers: { 'If-Match': put.headers.get('etag')! } })).status).toBe(204);
    expect((await stack.api('DELETE', `/api/v1/start-rules/${second.body.id}`, { as: 'erin' })).status).toBe(204);
    const after = await stack.api('GET', '/api/v1/start-rules', { as: 'erin' });
    const positions = (after.body.items as { position: number }[]).map((r) => r.position);
    expect(positions).toEqual(positions.map((_, i) => i + 1));
  });

  it('the seed’s example: with an order number starting with 6 the first task goes to dave; the others stay with the clerks; each evaluation is audited', async () => {
    const t = `SIX-${tag()}`;
    const created = await createRule({
      name: `Order 6 to dave ${t}`,
      position: 1,
      conditions: [
        { field: 'invoiceNumber', test: 'startsWith', value: t },
        { field: 'orderReference', test: 'present' },
        { field: 'orderReference', test: 'startsWith', value: '6' },
      ],
      outcome: { kind: 'assign', to: { users: [u('dave')] } },
    });
    expect(created.status).toBe(201);
    const six = await intake({ invoiceNumber: `${t}-1`, orderReference: '6001234' });
    const seven = await intake({ invoiceNumber: `${t}-2`, orderReference: '7001234' });
    expect((await openTaskIn(six, 'new')).assignees).toEqual([u('dave')]);
    expect((await openTaskIn(seven, 'new')).assignees).toEqual([u('alice')]);
    const audit = (await detail(six)).audit.filter((e) => e.kind === 'start_rule');
    expect(audit).toEqual([
      expect.objectContaining({ message: expect.stringMatching(new RegExp(`^Start rule "Order 6 to dave ${t}" \\(version 1\\) applies`)) }),
    ]);
    const notApplied = (await detail(seven)).audit.find((e) => e.kind === 'start_rule' && e.message.includes(t));
    expect(notApplied?.message).toMatch(/does not apply: not: orderReference starts with "6"/);
    // dave may register it: the task is his.
    expect((await act('dave', six, 'approve')).status).toBe(200);
  });

  it('a reject outcome rejects with the reason; an assignee who is inactive falls back to the clerks', async () => {
    const t = `RJ-${tag()}`;
    const ghost = await addUser(stack, `ghost${tag().toLowerCase()}`, { roles: ['clerk'], active: false });
    await createRule({
      name: `Reject ${t}`,
      position: 1,
      conditions: [{ field: 'invoiceNumber', test: 'startsWith', value: `${t}-X` }],
      outcome: { kind: 'reject', reason: 'We do not buy from this account' },
    });
    await createRule({
      name: `Ghost ${t}`,
      position: 1,
      conditions: [{ field: 'invoiceNumber', test: 'startsWith', value: `${t}-G` }],
      outcome: { kind: 'assign', to: { users: [ghost] } },
    });
    const rejected = await intake({ invoiceNumber: `${t}-X1` });
    const d = await waitForStage(stack, rejected, 'rejected');
    expect(JSON.stringify(d.audit)).toContain('We do not buy from this account');
    const ghosted = await intake({ invoiceNumber: `${t}-G1` });
    expect((await openTaskIn(ghosted, 'new')).assignees).toEqual([u('alice')]);
  });
});

describe('the inbox', () => {
  it('holds an invoice sent with autoStart false until a clerk starts it, once', async () => {
    const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, { autoStart: false }) });
    expect(res).toMatchObject({ status: 201, body: { stage: 'new', inbox: true } });
    const id = res.body.id as string;
    const inbox = await stack.api('GET', '/api/v1/inbox', { as: 'bob' });
    expect((inbox.body.items as { id: string; inbox: boolean }[]).find((i) => i.id === id)).toMatchObject({ inbox: true });
    expect(await detail(id)).toMatchObject({ inbox: true, tasks: [] });

    expect((await stack.api('POST', `/api/v1/invoices/${id}/start`, { as: 'bob' })).status).toBe(403);
    expect((await stack.api('POST', `/api/v1/invoices/${id}/start`, { as: 'alice' })).body).toMatchObject({ id, inbox: false });
    expect(await stack.api('POST', `/api/v1/invoices/${id}/start`, { as: 'alice' })).toMatchObject({
      status: 409,
      body: { error: { code: 'already_started' } },
    });
    await waitForStage(stack, id, 'new');
    const after = await stack.api('GET', '/api/v1/inbox', { as: 'alice' });
    expect((after.body.items as { id: string }[]).map((i) => i.id)).not.toContain(id);
    expect((await detail(id)).audit.map((e) => e.kind)).toEqual(expect.arrayContaining(['held_in_inbox', 'started_from_inbox']));
  });

  it("follows the company's autoStart setting when intake does not say", async () => {
    const settings = await stack.api('GET', '/api/v1/settings', { as: 'erin' });
    const off = await stack.api('PATCH', '/api/v1/settings', {
      as: 'erin',
      body: { autoStart: false },
      headers: { 'If-Match': settings.headers.get('etag')! },
    });
    expect(off.body.autoStart).toBe(false);
    try {
      const held = await intake();
      const started = await intake({ autoStart: true });
      expect((await detail(held)).inbox).toBe(true);
      await waitForStage(stack, started, 'new');
    } finally {
      await stack.api('PATCH', '/api/v1/settings', {
        as: 'erin',
        body: { autoStart: true },
        headers: { 'If-Match': off.headers.get('etag')! },
      });
    }
  });
});

describe('absence substitutes', () => {
  let vendorId: string;
  beforeAll(async () => {
    vendorId = await vendorWithFlow(stack, `Carol approves ${tag()}`, [
      { kind: 'approval', assignees: { users: [u('carol')] }, mode: 'any' },
    ]);
  });
  afterEach(async () => {
    await stack.api('DELETE', `/api/v1/users/${u('carol')}/absence`, { as: 'erin' });
  });

  /** An invoice of the carol-approves vendor, registered by alice, waiting for approval. */
  async function inApproval(): Promise<string> {
    const id = await intake({ vendor: { id: vendorId } });
    await openTaskIn(id, 'new');
    expect((await act('alice', id, 'approve')).status).toBe(200);
    return id;
  }

  const absence = (as: string, userId: string, body: Record<string, unknown>) =>
    stack.api('PUT', `/api/v1/users/${userId}/absence`, { as, body });
  const period = (fromMs: number, untilMs = 86_400_000) => ({
    from: new Date(Date.now() + fromMs).toISOString(),
    until: new Date(Date.now() + untilMs).toISOString(),
  });

  it('a task opened during carol’s absence goes to dave, “for carol, who is absent”; only she or an admin sets it', async () => {
    expect((await absence('bob', u('carol'), { ...period(-60_000), substituteId: u('dave') })).status).toBe(403);
    const set = await absence('carol', u('carol'), { ...period(-60_000), substituteId: u('dave') });
    expect(set).toMatchObject({ status: 200, body: { absence: { substituteId: u('dave') } } });
    const id = await inApproval();
    expect((await openTaskIn(id, 'approval')).assignees).toEqual([u('dave')]);
    expect((await detail(id)).audit.some((e) => e.message.includes(`for ${u('carol')}, who is absent`))).toBe(true);
    expect((await act('dave', id, 'approve')).body).toMatchObject({ moved: true });
  });

  it('a task open before the absence moves to the substitute when it begins (the worker’s poller)', async () => {
    const id = await inApproval();
    expect((await openTaskIn(id, 'approval')).assignees).toEqual([u('carol')]);
    const set = await absence('erin', u('carol'), { ...period(1500), substituteId: u('dave') });
    expect(set.body.movedInvoices).toBe(0);
    await new Promise((r) => setTimeout(r, 1600));
    const moved = await moveTasksOfAbsentUsers(stack.database.db, stack.temporal, { userIds: [u('carol')] });
    expect(moved).toMatchObject({ users: 1 });
    expect(moved.invoices).toBeGreaterThanOrEqual(1);
    expect((await openTaskIn(id, 'approval')).assignees).toEqual([u('dave')]);
    // Applied once: a second round moves nothing.
    expect(await moveTasksOfAbsentUsers(stack.database.db, stack.temporal, { userIds: [u('carol')] })).toEqual({ users: 0, invoices: 0 });
  });

  it('a substitute without the rights the task needs is skipped for the next qualifying approver; loops are refused', async () => {
    const frank = await addUser(stack, `frank${tag().toLowerCase()}`, { roles: ['approver'], limit: '100.00' });
    const set = await absence('erin', u('carol'), { ...period(-60_000), substituteId: frank });
    expect(set.status).toBe(200);
    const id = await inApproval();
    expect((await openTaskIn(id, 'approval')).assignees).toEqual([u('dave')]);
    expect((await detail(id)).audit.some((e) => /is absent until .* and no substitute of theirs may take it/.test(e.message))).toBe(true);

    const loop = await absence('erin', frank, { ...period(-60_000), substituteId: u('carol') });
    expect(loop).toMatchObject({
      status: 422,
      body: { error: { details: [{ path: 'substituteId', message: expect.stringMatching(/loop/) }] } },
    });
    expect((await absence('erin', u('carol'), { ...period(-60_000), substituteId: 'nobody.at.all' })).status).toBe(422);
    expect((await absence('erin', u('carol'), { from: period(0).until, until: period(0).from, substituteId: null })).status).toBe(422);
  });
});
