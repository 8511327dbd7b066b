import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { codingTemplates, settings, users } from '../../db/schema';
import { addUser, invoiceBody, startStack, vendorWithFlow, waitForStage, type Stack } from '../harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const u = (name: string) => stack.company.users[name]!;
const act = (as: string, id: string, action: string, body: unknown = {}) =>
  stack.api('POST', `/api/v1/invoices/${id}/actions/${action}`, { as, body });
const batch = (as: string, body: unknown, headers?: Record<string, string>) =>
  stack.api('POST', '/api/v1/work-queue/batch', { as, body, ...(headers ? { headers } : {}) });
const setSettings = (values: Partial<typeof settings.$inferInsert>) =>
  stack.database.db.update(settings).set(values).where(eq(settings.companyId, stack.company.companyId));

async function intake(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  await waitForStage(stack, res.body.id, 'new');
  return res.body.id as string;
}

describe('batch actions from the work queue', () => {
  it('are refused while useWorkqueueSend is off, and "all" while allowBatchApproveAll is off', async () => {
    await setSettings({ useWorkqueueSend: false });
    expect(await batch('alice', { action: 'approve', invoiceIds: [randomUUID()] })).toMatchObject({
      status: 403,
      body: { error: { code: 'batch_disabled' } },
    });
    await setSettings({ useWorkqueueSend: true, allowBatchApproveAll: false });
    expect(await batch('alice', { action: 'approve', invoiceIds: 'all' })).toMatchObject({
      status: 403,
      body: { error: { code: 'batch_all_disabled' } },
    });
    expect(await batch('alice', { action: 'exceptions-review', invoiceIds: [randomUUID()] })).toMatchObject({ status: 422 });
  });

  it('approve moves invoices of every stage one step on, and says why the others did not move', async () => {
    const vendorId = await vendorWithFlow(stack, 'Dave does it all', [
      { kind: 'review', assignees: { users: [u('dave')] } },
      { kind: 'control', assignees: { users: [u('dave')] } },
      { kind: 'approval', assignees: { users: [u('dave')] } },
      { kind: 'copy', assignees: { users: [u('dave')] } },
    ]);
    const vendor = { vendor: { id: vendorId } };
    const [inReview, inControl, inApproval, inCopy, stillNew] = [
      await intake(vendor),
      await intake(vendor),
      await intake(vendor),
      await intake(vendor),
      await intake(vendor),
    ];
    const steps = new Map([
      [inReview, 0],
      [inControl, 1],
      [inApproval, 2],
      [inCopy, 3],
    ]);
    for (const [id, n] of steps) {
      await act('alice', id!, 'approve');
      for (let i = 0; i < n; i++) expect((await act('dave', id!, 'approve')).status).toBe(200);
    }
    const secret = await intake({ confidential: true });
    const unknown = randomUUID();

    const res = await batch('dave', {
      action: 'approve',
      invoiceIds: [inReview, inControl, inApproval, inCopy, stillNew, unknown, secret, inReview],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { invoiceId: inReview, ok: true, moved: true, stage: 'control' },
      { invoiceId: inControl, ok: true, moved: true, stage: 'approval' },
      { invoiceId: inApproval, ok: true, moved: true, stage: 'copy' },
      { invoiceId: inCopy, ok: true, moved: true, stage: 'payment' },
      { invoiceId: stillNew, ok: false, reason: expect.stringMatching(/^It is not your task/) },
      { invoiceId: unknown, ok: false, reason: expect.stringMatching(/cannot see this invoice/) },
      { invoiceId: secret, ok: false, reason: expect.stringMatching(/cannot see this invoice/) },
      { invoiceId: inReview, ok: false, reason: 'Listed twice in this batch; it was handled once' },
    ]);
    // The clerk's own batch moves the new one on.
    expect((await batch('alice', { action: 'approve', invoiceIds: [stillNew] })).body.results).toEqual([
      { invoiceId: stillNew, ok: true, moved: true, stage: 'review' },
    ]);
    await waitForStage(stack, inCopy!, 'posted');
    const done = await stack.api('GET', '/api/v1/work-queue?state=done', { as: 'dave' });
    expect(done.body.items.map((i: { invoiceId: string }) => i.invoiceId)).toEqual(
      expect.arrayContaining([inReview, inControl, inApproval, inCopy]),
    );
  });

  it('gives the reasons a clerk needs: coding incomplete, not your task, moved by someone else; a step whose people left goes to the admins', async () => {
    // The only reviewer of the vendor's flow has left: the review goes to the admins instead of waiting for nobody.
    await addUser(stack, 'frank', { roles: ['reviewer'] });
    const vendorId = await vendorWithFlow(stack, 'Frank reviews', [
      { kind: 'review', assignees: { users: [`${u('alice').split('.')[0]}.frank`] } },
      { kind: 'approval', assignees: { roles: ['approver'] } },
    ]);
    await stack.database.db
      .update(users)
      .set({ active: false })
      .where(eq(users.id, `${u('alice').split('.')[0]}.frank`));
    const noAddressee = await intake({ vendor: { id: vendorId } });

    // Coding incomplete: no coding template applied when it arrived.
    await stack.database.db.update(codingTemplates).set({ isDefault: false }).where(eq(codingTemplates.companyId, stack.company.companyId));
    const uncoded = await intake();
    await stack.database.db
      .update(codingTemplates)
      .set({ isDefault: true })
      .where(and(eq(codingTemplates.companyId, stack.company.companyId), eq(codingTemplates.id, stack.company.codingTemplateId)));

    const clerk = await batch('alice', { action: 'approve', invoiceIds: [noAddressee, uncoded] });
    expect(clerk.body.results).toEqual([
      { invoiceId: noAddressee, ok: true, moved: true, stage: 'review' },
      { invoiceId: uncoded, ok: false, reason: expect.stringMatching(/no coding rows/) },
    ]);
    expect((await batch('erin', { action: 'approve', invoiceIds: [noAddressee] })).body.results).toEqual([
      { invoiceId: noAddressee, ok: true, moved: true, stage: 'approval' },
    ]);

    // Not her task: an admin cannot hand carol an invoice above her limit, so it stays with dave.
    const big = await intake({ net: '20000.00', tax: '5000.00', gross: '25000.00', lines: [] });
    await act('alice', big, 'approve');
    await act('bob', big, 'approve');
    const handOver = await stack.api('POST', `/api/v1/admin/invoices/${big}/reassign`, {
      as: 'erin',
      body: { to: { users: [u('carol')] } },
    });
    expect(handOver).toMatchObject({
      status: 409,
      body: { error: { code: 'no_addressee', message: expect.stringContaining('no approval rights') } },
    });
    // Moved by someone else: dave approves the shared task first.
    const shared = await intake();
    await act('alice', shared, 'approve');
    await act('bob', shared, 'approve');
    await act('dave', shared, 'approve');
    const approver = await batch('carol', { action: 'approve', invoiceIds: [big, shared] });
    expect(approver.body.results).toEqual([
      { invoiceId: big, ok: false, reason: expect.stringMatching(/^It is not your task/) },
      { invoiceId: shared, ok: false, reason: expect.stringMatching(/^Someone else already moved this invoice on/) },
    ]);
  });

  it('not mine works on shared tasks only; exceptions review applies one message and resolves back', async () => {
    const a = await intake();
    const b = await intake();
    await act('alice', a, 'approve');
    await act('bob', a, 'approve');
    const notMine = await batch('carol', { action: 'not-mine', invoiceIds: [a] });
    expect(notMine.body.results).toEqual([{ invoiceId: a, ok: true, moved: false, stage: 'approval', reason: 'Removed from the task' }]);
    const unshared = await batch('alice', { action: 'not-mine', invoiceIds: [b] });
    expect(unshared.body.results[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/only for a task shared/) });

    const review = await batch('alice', { action: 'exceptions-review', invoiceIds: [b], message: 'Missing order number' });
    expect(review.body.results).toEqual([{ invoiceId: b, ok: true, moved: true, stage: 'exceptions_review' }]);
    const detail = await stack.api('GET', `/api/v1/invoices/${b}`, { as: 'alice' });
    expect(detail.body.tasks.at(-1)).toMatchObject({ stage: 'exceptions_review', state: 'open' });
    expect((await act('alice', b, 'resolve-exception')).body).toMatchObject({ stage: 'new' });
  });

  it('"all" takes exactly the current queue, and a large batch streams its progress', async () => {
    await setSettings({ allowBatchApproveAll: true });
    const credit = await intake({ documentType: 'credit_note' });
    const plain = await intake();
    const res = await batch('alice', { action: 'approve', invoiceIds: 'all', queue: 'credit-memo' });
    expect(res.body.results.map((r: { invoiceId: string }) => r.invoiceId)).toEqual([credit]);
    const stillThere = await stack.api('GET', '/api/v1/work-queue', { as: 'alice' });
    expect(stillThere.body.items.map((i: { invoiceId: string }) => i.invoiceId)).toContain(plain);

    const ids = [plain, randomUUID(), randomUUID()];
    const streamed = await fetch(`${stack.baseUrl}/api/v1/work-queue/batch`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.company.tokens.alice}`,
        'content-type': 'application/json',
        accept: 'application/x-ndjson',
      },
      body: JSON.stringify({ action: 'approve', invoiceIds: ids }),
    });
    expect(streamed.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = (await streamed.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ total: 3 });
    expect(
      lines
        .slice(1, 4)
        .map((l) => l.index)
        .sort(),
    ).toEqual([0, 1, 2]);
    expect(lines.at(-1)).toEqual({ done: true, ok: 1, failed: 2 });
  });
});
