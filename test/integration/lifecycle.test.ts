import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { journalEntries, journalLines } from '../../db/schema';
import { journalTotals } from '../../domain/journal';
import { invoiceWorkflowId, stateQuery, TASK_QUEUE, INVOICE_WORKFLOW_TYPE } from '../../workflows/definitions';
import { invoiceBody, startStack, waitForStage, waitFor, type Stack } from '../harness';
import { recordHistory } from '../histories';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function intake(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  expect(res.headers.get('location')).toBe(`/api/v1/invoices/${res.body.id}`);
  expect(res.body).toMatchObject({ workflowId: invoiceWorkflowId(res.body.id), stage: 'new' });
  return res.body.id as string;
}

async function queue(as: string): Promise<string[]> {
  const res = await stack.api('GET', '/api/v1/work-queue?queue=personal', { as });
  expect(res.status).toBe(200);
  return (res.body.items as { invoiceId: string }[]).map((i) => i.invoiceId);
}

async function act(as: string, id: string, action: string, body: unknown = {}) {
  return stack.api('POST', `/api/v1/invoices/${id}/actions/${action}`, { as, body });
}

describe('an invoice through the API on the real Temporal server', () => {
  it('goes from intake through review and approval to posted, with one balanced journal', async () => {
    const id = await intake();
    await waitFor(
      () => queue('alice'),
      (ids) => ids.includes(id),
    );

    expect((await act('alice', id, 'approve')).body).toMatchObject({ stage: 'review', moved: true });
    expect(await queue('alice')).not.toContain(id);
    expect(await queue('bob')).toContain(id);

    expect((await act('bob', id, 'approve', { comment: 'prices checked' })).body).toMatchObject({ stage: 'approval' });
    expect(await queue('carol')).toContain(id);
    expect(await queue('dave')).toContain(id);

    expect((await act('carol', id, 'approve')).body).toMatchObject({ stage: 'payment', moved: true });
    const detail = await waitForStage(stack, id, 'posted');

    expect(detail.codingRows).toEqual([
      expect.objectContaining({
        account: '6100',
        amount: '600.00',
        reviewSignature: expect.objectContaining({ by: stack.company.users.bob }),
        approvalSignature: expect.objectContaining({ by: stack.company.users.carol }),
      }),
      expect.objectContaining({
        account: '6200',
        amount: '400.00',
        approvalSignature: expect.objectContaining({ by: stack.company.users.carol }),
      }),
      expect.objectContaining({ kind: 'tax', account: '2640', amount: '250.00' }),
    ]);
    const posting = detail.posting as { id: string; lines: { account: string; debit: string; credit: string }[] };
    expect(posting.lines.map((l) => [l.account, l.debit, l.credit])).toEqual([
      ['6100', '600.00', '0.00'],
      ['6200', '400.00', '0.00'],
      ['2640', '250.00', '0.00'],
      ['2400', '0.00', '1250.00'],
    ]);

    // Straight from the database: exactly one entry for the invoice, and it balances.
    const entries = await stack.database.db.select().from(journalEntries).where(eq(journalEntries.invoiceId, id));
    expect(entries).toHaveLength(1);
    const lines = await stack.database.db.select().from(journalLines).where(eq(journalLines.entryId, entries[0]!.id));
    expect(journalTotals(lines, 'EUR')).toEqual({ debit: '1250.00', credit: '1250.00' });

    const audit = (detail.audit as { kind: string; actor: string }[]).map((a) => a.kind);
    expect(audit).toEqual(expect.arrayContaining(['intake', 'coding', 'received', 'approve', 'posting', 'post']));

    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    expect(await handle.result()).toEqual({ stage: 'posted', journalEntryId: entries[0]!.id });
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get({ name: 'InvoiceStage', type: 'KEYWORD' } as never)).toBe('posted');
    await recordHistory(handle, 'v3-posted-after-review-and-approval');
  });

  it('a rejected invoice goes back to the clerks with the reason, and a resubmission starts over', async () => {
    const id = await intake();
    await waitFor(
      () => queue('alice'),
      (ids) => ids.includes(id),
    );
    await act('alice', id, 'approve');
    const rejected = await act('bob', id, 'reject', { reason: 'Not our order' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ stage: 'rejected', moved: true });

    const detail = await waitForStage(stack, id, 'rejected');
    expect(detail.audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'reject', actor: stack.company.users.bob, message: expect.stringContaining('Not our order') }),
      ]),
    );
    expect(await queue('alice')).toContain(id);
    expect(await queue('bob')).not.toContain(id);

    expect((await act('alice', id, 'approve', { comment: 'corrected' })).body).toMatchObject({ stage: 'review' });
    await recordHistory(stack.temporal.workflow.getHandle(invoiceWorkflowId(id)), 'v3-rejected-and-resubmitted');
  });

  it('routes an invoice above an approver limit to the unlimited approver only', async () => {
    const id = await intake({ net: '20000.00', tax: '5000.00', gross: '25000.00', lines: [] });
    await waitFor(
      () => queue('alice'),
      (ids) => ids.includes(id),
    );
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    // Only approvers whose limit covers the amount are addressed.
    expect(await queue('carol')).not.toContain(id);
    expect(await queue('dave')).toContain(id);
    const refused = await act('carol', id, 'approve');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'not_assignee' });
    expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
    await waitForStage(stack, id, 'posted');
    await recordHistory(stack.temporal.workflow.getHandle(invoiceWorkflowId(id)), 'v3-refused-update-above-limit');
  });

  it('answers 403 with the reason when the caller is not an assignee, and changes nothing', async () => {
    const id = await intake();
    await waitFor(
      () => queue('alice'),
      (ids) => ids.includes(id),
    );
    const res = await act('dave', id, 'approve');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('not_assignee');
    const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'alice' });
    expect(detail.body.stage).toBe('new');
  });

  it('a signal is an operator action: one not from an admin is written to the audit trail and ignored', async () => {
    const id = await intake();
    await waitFor(
      () => queue('alice'),
      (ids) => ids.includes(id),
    );
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    await handle.signal('approve', { by: stack.company.users.dave });
    const state = await waitFor(
      () => handle.query(stateQuery),
      (s) => s.history.some((h) => h.outcome === 'refused'),
    );
    expect(state.stage).toBe('new');
    await waitFor(
      () => stack.api('GET', `/api/v1/invoices/${id}`, { as: 'alice' }),
      (r) => (r.body.audit as { kind: string }[]).some((a) => a.kind === 'approve_refused'),
    );
    expect(state.history.find((h) => h.outcome === 'refused')?.message).toMatch(/must be an active admin/);
    // Signals and updates share one handler: an admin takes the task over and registers it by signal.
    const erin = stack.company.users.erin!;
    await handle.signal('reassign', { by: erin, to: { users: [erin] }, reason: 'alice is away' });
    await handle.signal('approve', { by: erin });
    await waitForStage(stack, id, 'review');
    const audit = (await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' })).body.audit as { kind: string; message: string }[];
    expect(audit.filter((a) => a.kind === 'approve').map((a) => a.message)).toEqual([expect.stringContaining('(by Temporal signal)')]);
    await recordHistory(handle, 'v3-refused-signal-then-admin-signals');
  });

  it('refuses a second workflow start for the same invoice and a duplicate intake', async () => {
    const body = invoiceBody(stack);
    const first = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body });
    expect(first.status).toBe(201);
    await expect(
      stack.temporal.workflow.start(INVOICE_WORKFLOW_TYPE, {
        workflowId: invoiceWorkflowId(first.body.id),
        taskQueue: TASK_QUEUE,
        args: [{ invoiceId: first.body.id, companyId: stack.company.companyId }],
      }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);

    const again = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'duplicate_invoice', details: [{ existingId: first.body.id }] });
  });
});
