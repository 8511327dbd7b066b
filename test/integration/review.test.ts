/**
 * Automatic purchase-invoice review (SPEC 2.3) on the real stack: rules marking rows and fields,
 * review again after a coding correction, bulk re-review, the manual override, obligations with
 * partial invoices under parallel intake, and the authorization scheme's automatic rejection and
 * re-authorization.
 */
import { eq } from 'drizzle-orm';
import { obligations, settings } from '../../db/schema';
import { mapConcurrent } from '../../lib/concurrency';
import { invoiceWorkflowId } from '../../workflows/definitions';
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
const v1 = (path: string) => `/api/v1${path}`;
const act = (as: string, id: string, action: string, body: unknown = {}) =>
  stack.api('POST', v1(`/invoices/${id}/actions/${action}`), { as, body });
const detail = (id: string, as = 'erin') => stack.api('GET', v1(`/invoices/${id}`), { as });

async function intake(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api('POST', v1('/invoices'), { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Waits until the invoice's review has the status. */
async function reviewed(id: string, status: string) {
  const res = await waitFor(
    () => detail(id),
    (r) => r.status === 200 && r.body.review.status === status,
  );
  return res.body;
}

async function rule(body: Record<string, unknown>, as = 'erin') {
  const res = await stack.api('POST', v1('/review-rules'), { as, body });
  expect(res.status).toBe(201);
  return res.body as { id: string; version: number };
}

async function setOptions(change: Record<string, unknown>) {
  await stack.database.db.update(settings).set(change).where(eq(settings.companyId, stack.company.companyId));
}

describe('automatic review', () => {
  let projectRule: { id: string; version: number };

  it('refuses a rule whose pattern could backtrack catastrophically, and environment rules without the permission', async () => {
    const bad = await stack.api('POST', v1('/review-rules'), {
      as: 'erin',
      body: { name: 'ReDoS', message: 'x', conditions: [{ kind: 'field', field: 'buyerReference', test: 'matches', value: '^(a+)+$' }] },
    });
    expect(bad).toMatchObject({
      status: 422,
      body: { error: { details: [{ path: 'conditions.0.value', message: expect.stringContaining('catastrophic backtracking') }] } },
    });
    const env = await stack.api('POST', v1('/review-rules'), {
      as: 'erin',
      body: { scope: 'environment', name: 'Env', message: 'x', conditions: [{ kind: 'field', field: 'buyerReference', test: 'present' }] },
    });
    expect(env).toMatchObject({ status: 403 });
    expect((await stack.api('POST', v1('/review-rules'), { as: 'bob', body: { name: 'x', message: 'x', conditions: [] } })).status).toBe(
      403,
    );
  });

  it('a rule "accounts 6000-6999 need a project" marks the right rows red; the clerk corrects the coding and the invoice turns green', async () => {
    projectRule = await rule({
      name: 'Projects on costs',
      message: 'Accounts 6000-6999 need a project',
      conditions: [{ kind: 'accountsNeedDimension', from: '6000', to: '6999', dimension: 'project' }],
    });
    const id = await intake();
    const body = await reviewed(id, 'incorrect');
    const marks = (body.codingRows as { account: string; reviewMarks: { message: string }[] }[]).map((r) => [
      r.account,
      r.reviewMarks.map((m) => m.message),
    ]);
    expect(marks).toEqual([
      ['6100', ['Accounts 6000-6999 need a project']],
      ['6200', ['Accounts 6000-6999 need a project']],
      ['2640', []],
    ]);
    expect(body.review.ruleVersions).toEqual([{ id: projectRule.id, version: 1 }]);
    await waitFor(
      async () =>
        (await stack.api('GET', v1('/work-queue?review=incorrect'), { as: 'alice' })).body.items as { invoiceId: string; review: string }[],
      (items) => items.some((i) => i.invoiceId === id && i.review === 'incorrect'),
    );
    const etag = (await detail(id, 'alice')).headers.get('etag')!;
    const fixed = await stack.api('PATCH', v1(`/invoices/${id}/coding`), {
      as: 'alice',
      headers: { 'if-match': etag },
      body: {
        rows: [
          { kind: 'expense', account: '6100', dimensions: { costCentre: 'CC-100', project: 'P-1' }, amount: '600.00' },
          { kind: 'expense', account: '6200', dimensions: { costCentre: 'CC-200', project: 'P-1' }, amount: '400.00' },
          { kind: 'tax', account: '2640', taxCode: 'VAT-IN', amount: '250.00' },
        ],
      },
    });
    expect(fixed.status).toBe(200);
    const green = await reviewed(id, 'correct');
    expect((green.codingRows as { reviewMarks: unknown[] }[]).every((r) => r.reviewMarks.length === 0)).toBe(true);
    expect((green.audit as { kind: string }[]).filter((a) => a.kind === 'review').length).toBeGreaterThanOrEqual(2);
  });

  it('a manual override needs the review:override permission, and afterwards the invoice is not reviewed automatically', async () => {
    const id = await intake();
    await reviewed(id, 'incorrect');
    expect(
      await stack.api('PUT', v1(`/invoices/${id}/review`), {
        as: 'erin',
        body: { status: 'manually_correct', comment: 'project follows' },
      }),
    ).toMatchObject({
      status: 403,
    });
    const bob = await stack.api('GET', v1(`/users/${u('bob')}`), { as: 'erin' });
    const granted = await stack.api('PATCH', v1(`/users/${u('bob')}`), {
      as: 'erin',
      headers: { 'if-match': bob.headers.get('etag')! },
      body: { permissions: ['review:override'] },
    });
    expect(granted.status).toBe(200);
    expect(
      (
        await stack.api('PUT', v1(`/invoices/${id}/review`), {
          as: 'bob',
          body: { status: 'manually_correct', comment: 'project follows' },
        })
      ).status,
    ).toBe(200);
    const overridden = await reviewed(id, 'manually_correct');
    expect(overridden.review).toMatchObject({ reviewedBy: u('bob'), comment: 'project follows' });
    expect((overridden.audit as { kind: string; actor: string }[]).find((a) => a.kind === 'review_override')).toMatchObject({
      actor: u('bob'),
    });
    // Reviewing again keeps the hand-made verdict.
    expect((await stack.api('POST', v1(`/invoices/${id}/review`), { as: 'alice', body: {} })).status).toBe(200);
    expect((await detail(id)).body.review.status).toBe('manually_correct');
  });

  it('bulk re-review of 200 invoices after a rule change, with one result each', async () => {
    const ids = await mapConcurrent(Array.from({ length: 200 }), 16, () => intake());
    await waitFor(
      async () => (await stack.api('GET', v1('/invoices?review=incorrect&limit=200'), { as: 'erin' })).body.items.length,
      (n) => n >= 200,
      60_000,
    );
    // The rule is deactivated: the same invoices are all correct once reviewed again.
    const current = await stack.api('GET', v1(`/review-rules/${projectRule.id}`), { as: 'erin' });
    expect(
      (
        await stack.api('PATCH', v1(`/review-rules/${projectRule.id}`), {
          as: 'erin',
          headers: { 'if-match': current.headers.get('etag')! },
          body: { active: false },
        })
      ).status,
    ).toBe(200);
    const bulk = await stack.api('POST', v1('/invoices/review'), { as: 'erin', body: { invoiceIds: ids } });
    expect(bulk.status).toBe(200);
    expect(bulk.body.results).toHaveLength(200);
    expect(bulk.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    const states = await mapConcurrent(ids, 16, async (id) => (await detail(id)).body.review.status as string);
    expect(new Set(states)).toEqual(new Set(['correct']));
  }, 180_000);
});

describe('obligations', () => {
  async function obligation(orderNumber: string, amount = '1000.00') {
    const res = await stack.api('POST', v1('/obligations'), {
      as: 'erin',
      body: { vendorId: stack.company.vendorId, orderNumber, amount, currency: 'EUR', tolerancePercent: '5' },
    });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  }
  const partial = (orderReference: string) => ({ orderReference, net: '320.00', tax: '80.00', gross: '400.00', lines: [] });

  it('three partial invoices of 400.00 against 1,000.00: the third is incorrect; rejecting one gives its share back', async () => {
    const o = await obligation(`PO-${Date.now()}`);
    const number = (await stack.api('GET', v1(`/obligations/${o.id}`), { as: 'erin' })).body.orderNumber as string;
    const first = await intake(partial(number));
    await reviewed(first, 'correct');
    const second = await intake(partial(number));
    await reviewed(second, 'correct');
    const third = await intake(partial(number));
    const body = await reviewed(third, 'incorrect');
    expect(body.review.fields.orderReference[0].message).toMatch(/would be exceeded: 1200.00 invoiced/);
    expect((await stack.api('GET', v1(`/obligations/${o.id}`), { as: 'erin' })).body.invoicedTotal).toBe('1200.00');
    // The second one is rejected (and then cancelled): its 400.00 goes back.
    await act('alice', second, 'reject', { reason: 'duplicate delivery' });
    await waitFor(
      async () => (await stack.api('GET', v1(`/obligations/${o.id}`), { as: 'erin' })).body.invoicedTotal,
      (total) => total === '800.00',
    );
  });

  it('ten invoices against one obligation at once: the invoiced sum stays exact', async () => {
    const o = await obligation(`PO-P-${Date.now()}`, '100000.00');
    const number = (await stack.api('GET', v1(`/obligations/${o.id}`), { as: 'erin' })).body.orderNumber as string;
    const ids = await Promise.all(
      Array.from({ length: 10 }, () => intake({ orderReference: number, net: '100.01', tax: '25.00', gross: '125.01', lines: [] })),
    );
    await Promise.all(ids.map((id) => reviewed(id, 'correct')));
    const [row] = await stack.database.db.select().from(obligations).where(eq(obligations.id, o.id));
    expect(row!.invoicedTotal).toBe('1250.10');
  });
});

describe('authorization scheme options', () => {
  it('auto-reject sends an incorrect invoice to rejected with the failed rules; auto re-authorize brings it back to approval after the fix', async () => {
    const r = await rule({
      name: 'Contract above 1,000',
      message: 'Invoices above 1,000.00 need a contract reference',
      conditions: [{ kind: 'amountNeedsReference', above: '1000.00', reference: 'contractReference' }],
    });
    await setOptions({ autoRejectIncorrect: true, autoReauthorize: true });
    try {
      const id = await intake();
      await reviewed(id, 'incorrect');
      await act('alice', id, 'approve');
      expect((await act('bob', id, 'approve')).body).toMatchObject({ stage: 'rejected' });
      const rejected = await detail(id);
      expect((rejected.body.audit as { kind: string; message: string }[]).find((a) => a.kind === 'reject')?.message).toContain(
        'Invoices above 1,000.00 need a contract reference',
      );
      const inRejected = await stack.api('GET', v1('/invoices?stage=rejected'), { as: 'erin' });
      expect(inRejected.body.items.map((i: { id: string }) => i.id)).toContain(id);
      // The fix: the rule is met once the contract reference is there; here the admin narrows the rule instead.
      const current = await stack.api('GET', v1(`/review-rules/${r.id}`), { as: 'erin' });
      const narrowed = await stack.api('PUT', v1(`/review-rules/${r.id}`), {
        as: 'erin',
        headers: { 'if-match': current.headers.get('etag')! },
        body: {
          name: 'Contract above 5,000',
          message: 'Invoices above 5,000.00 need a contract reference',
          conditions: [{ kind: 'amountNeedsReference', above: '5000.00', reference: 'contractReference' }],
        },
      });
      expect(narrowed.body.version).toBe(2);
      expect((await stack.api('POST', v1(`/invoices/${id}/review`), { as: 'alice', body: {} })).status).toBe(200);
      const back = await waitForStage(stack, id, 'approval');
      expect((back.review as { ruleVersions: unknown[] }).ruleVersions).toContainEqual({ id: r.id, version: 2 });
      expect((back.codingRows as { reviewSignature: unknown }[]).every((row) => row.reviewSignature !== null)).toBe(true);
      expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
      await waitForStage(stack, id, 'posted');
      await recordHistory(stack.temporal.workflow.getHandle(invoiceWorkflowId(id)), 'v3-review-auto-reject-then-reauthorize');
    } finally {
      await setOptions({ autoRejectIncorrect: false, autoReauthorize: false });
    }
  });
});
