/**
 * Correcting an invoice's coding (PATCH /invoices/:id/coding): by the task's assignee or an
 * admin, while nobody has approved on it, against the version the editor saw, row by row in the
 * audit trail, and taken up by the workflow (signatures of changed rows cleared, rights resolved
 * again).
 */
import { eq } from 'drizzle-orm';
import { codingTemplates } from '../../db/schema';
import { invoiceWorkflowId, stateQuery } from '../../workflows/definitions';
import { invoiceBody, startStack, waitFor, waitForStage, type Stack } from '../harness';
import { recordHistory } from '../histories';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const u = (name: string) => stack.company.users[name]!;

async function intake(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  await waitForStage(stack, res.body.id, 'new');
  return res.body.id as string;
}

const act = (as: string, id: string, action: string, body: unknown = {}) =>
  stack.api('POST', `/api/v1/invoices/${id}/actions/${action}`, { as, body });
const patchCoding = (as: string, id: string, etag: string | undefined, body: unknown) =>
  stack.api('PATCH', `/api/v1/invoices/${id}/coding`, { as, body, headers: etag ? { 'if-match': etag } : {} });

const rows = (expense: [string, string, string][], tax = '250.00') => ({
  rows: [
    ...expense.map(([account, costCentre, amount]) => ({ kind: 'expense', account, dimensions: { costCentre }, amount })),
    { kind: 'tax', account: '2640', taxCode: 'VAT-IN', amount: tax },
  ],
});

describe('correcting the coding of an invoice', () => {
  it('an invoice that arrived without coding is coded by the clerk, then registered, reviewed and approved', async () => {
    await stack.database.db.update(codingTemplates).set({ isDefault: false }).where(eq(codingTemplates.companyId, stack.company.companyId));
    let id: string;
    try {
      id = await intake();
    } finally {
      await stack.database.db
        .update(codingTemplates)
        .set({ isDefault: true })
        .where(eq(codingTemplates.id, stack.company.codingTemplateId));
    }
    expect(await act('alice', id, 'approve')).toMatchObject({ status: 409, body: { error: { code: 'coding_incomplete' } } });
    const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'alice' });
    const etag = detail.headers.get('etag')!;
    expect(etag).toBe('"coding-0"');

    const unbalanced = await patchCoding('alice', id, etag, rows([['6100', 'CC-100', '900.00']]));
    expect(unbalanced).toMatchObject({
      status: 422,
      body: { error: { code: 'coding_invalid', details: [{ path: 'rows', message: expect.stringContaining('difference 100.00') }] } },
    });
    const saved = await patchCoding('alice', id, etag, {
      ...rows([
        ['6100', 'CC-100', '700.00'],
        ['6300', 'CC-200', '300.00'],
      ]),
      comment: 'split by order',
    });
    expect(saved).toMatchObject({ status: 200, body: { stage: 'new', codingVersion: 1 } });
    expect(saved.headers.get('etag')).toBe('"coding-1"');
    expect(saved.body.codingRows.map((r: { account: string; amount: string }) => `${r.account} ${r.amount}`)).toEqual([
      '6100 700.00',
      '6300 300.00',
      '2640 250.00',
    ]);
    expect(await patchCoding('alice', id, etag, rows([['6100', 'CC-100', '1000.00']]))).toMatchObject({
      status: 412,
      body: { error: { code: 'stale_version' } },
    });

    expect((await act('alice', id, 'approve')).body).toMatchObject({ stage: 'review' });
    expect((await act('bob', id, 'approve')).body).toMatchObject({ stage: 'approval' });
    expect((await act('carol', id, 'approve')).body).toMatchObject({ stage: 'payment' });
    const posted = await waitForStage(stack, id, 'posted');
    const audit = (posted.audit as { kind: string; message: string }[]).filter((a) => a.kind === 'coding_changed').map((a) => a.message);
    expect(audit).toEqual([
      'Coding row 1 added: expense 6100 costCentre CC-100 700.00',
      'Coding row 2 added: expense 6300 costCentre CC-200 300.00',
      'Coding row 3 added: tax 2640 tax code VAT-IN 250.00',
    ]);
    await recordHistory(stack.temporal.workflow.getHandle(invoiceWorkflowId(id)), 'v3-coding-corrected-then-approved');
  });

  it('a reviewer changes one row: the other rows keep their ids (and so their signatures), the changed one is a new row', async () => {
    const id = await intake();
    await act('alice', id, 'approve');
    const state = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    const detail = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'bob' });
    const before = detail.body.codingRows as { id: string; account: string; amount: string }[];
    const changed = await patchCoding(
      'bob',
      id,
      detail.headers.get('etag')!,
      rows([
        ['6100', 'CC-100', '600.00'],
        ['6200', 'CC-100', '400.00'],
      ]),
    );
    expect(changed.status).toBe(200);
    const after = changed.body.codingRows as { id: string }[];
    expect(after[0]!.id).toBe(before[0]!.id);
    expect(after[1]!.id).not.toBe(before[1]!.id);
    expect(after[2]!.id).toBe(before[2]!.id);
    const s = await waitFor(
      () => state.query(stateQuery),
      (x) => x.rows.length === 3 && x.rows[1]!.rowId === after[1]!.id,
    );
    expect(s.stage).toBe('review');
    // The change, then the automatic review it triggers.
    expect(s.history.slice(-2)).toEqual([
      expect.objectContaining({ action: 'codingChanged', actor: u('bob') }),
      expect.objectContaining({ action: 'review', message: 'Reviewed correct' }),
    ]);
    expect((await act('bob', id, 'approve')).body).toMatchObject({ stage: 'approval' });
  });

  it('only the assignee or an admin, and only before approval; without If-Match it is 428', async () => {
    const id = await intake();
    const etag = (await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'alice' })).headers.get('etag')!;
    const body = rows([['6100', 'CC-100', '1000.00']]);
    expect(await patchCoding('alice', id, undefined, body)).toMatchObject({ status: 428 });
    expect(await patchCoding('bob', id, etag, body)).toMatchObject({ status: 403, body: { error: { code: 'not_assignee' } } });
    expect(await patchCoding('erin', id, etag, body)).toMatchObject({ status: 200 });
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    const later = (await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' })).headers.get('etag')!;
    expect(await patchCoding('erin', id, later, body)).toMatchObject({ status: 409, body: { error: { code: 'wrong_stage' } } });
    expect(await patchCoding('alice', id, etag, { rows: [{ kind: 'expense', account: '', amount: 'x' }] })).toMatchObject({ status: 422 });
  });
});
