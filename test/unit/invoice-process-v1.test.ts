import type { InvoiceContext } from '../../workflows/legacy/definitions-v1';
import { InvoiceProcess } from '../../workflows/legacy/invoice-process-v1';

function context(overrides: Partial<InvoiceContext> = {}): InvoiceContext {
  return {
    invoiceId: 'inv-1',
    companyId: 'c',
    vendorId: 'v',
    currency: 'EUR',
    gross: '1250.00',
    dueDate: '2026-12-01',
    registeredBy: 'alice',
    rows: [
      { id: 'r1', kind: 'expense', dimensions: { costCentre: 'CC-1' } },
      { id: 'r2', kind: 'expense', dimensions: { costCentre: 'CC-2' } },
    ],
    clerks: ['alice'],
    admins: ['erin'],
    steps: [
      { kind: 'review', mode: 'any', assignees: ['bob'], signable: {} },
      { kind: 'approval', mode: 'any', assignees: ['carol', 'dave'], signable: { carol: ['r1'], dave: ['r1', 'r2'] } },
    ],
    ...overrides,
  };
}

function started(ctx = context()): InvoiceProcess {
  let t = 0;
  const p = new InvoiceProcess('invoice-inv-1', ctx, () => new Date(Date.UTC(2026, 10, 1, 0, 0, t++)));
  p.start();
  return p;
}

const approve = (by: string) => ({ kind: 'approve' as const, payload: { by } });

describe('invoice process v1 (frozen, for invoices started before routing v2)', () => {
  it('walks new, review, approval to payment with signatures on every row', () => {
    const p = started();
    expect(p.apply(approve('alice'))).toMatchObject({ stage: 'review', moved: true });
    expect(p.apply(approve('bob'))).toMatchObject({ stage: 'approval', moved: true });
    expect(p.check(approve('dave'))).toBeUndefined();
    expect(p.apply(approve('dave'))).toMatchObject({ stage: 'payment', moved: true });
    const s = p.state();
    expect(s.rows).toEqual([
      expect.objectContaining({ rowId: 'r1', reviewedBy: 'bob', approvedBy: 'dave' }),
      expect.objectContaining({ rowId: 'r2', reviewedBy: 'bob', approvedBy: 'dave' }),
    ]);
    expect(s.tasks.every((t) => t.state === 'done')).toBe(true);
  });

  it('approving part of the rows leaves the invoice waiting for an approver who can sign the rest', () => {
    const p = started();
    p.apply(approve('alice'));
    p.apply(approve('bob'));
    expect(p.apply(approve('carol'))).toMatchObject({ stage: 'approval', moved: false });
    const open = p.state().tasks.filter((t) => t.state === 'open');
    expect(open).toEqual([expect.objectContaining({ stage: 'approval', assignees: ['dave'] })]);
    expect(p.apply(approve('dave'))).toMatchObject({ stage: 'payment' });
  });

  it('refuses people who are not assignees, and approvers without rights', () => {
    const p = started();
    expect(p.check(approve('bob'))).toMatchObject({ code: 'not_assignee' });
    p.apply(approve('alice'));
    p.apply(approve('bob'));
    const noRights = started(context({ steps: [{ kind: 'approval', mode: 'any', assignees: ['carol'], signable: { carol: [] } }] }));
    noRights.apply(approve('alice'));
    // Nobody may sign: the task goes to the admins, who have no approval rights either.
    expect(noRights.openTask?.assignees).toEqual(['erin']);
    expect(noRights.check(approve('carol'))).toMatchObject({ code: 'not_assignee' });
    expect(noRights.check(approve('erin'))).toMatchObject({ code: 'no_approval_rights' });
  });

  it('keeps the registering clerk from approving (segregation of duties), even when an admin assigns it to them', () => {
    const p = started(
      context({
        steps: [{ kind: 'approval', mode: 'any', assignees: ['alice', 'dave'], signable: { alice: ['r1', 'r2'], dave: ['r1', 'r2'] } }],
      }),
    );
    p.apply(approve('alice'));
    expect(p.openTask?.assignees).toEqual(['dave']);
    const reassign = { kind: 'reassign' as const, payload: { by: 'erin', to: { users: ['alice'] } }, assignees: ['alice'] };
    expect(p.check(reassign)).toBeUndefined();
    p.apply(reassign);
    expect(p.check(approve('alice'))).toMatchObject({ code: 'segregation_of_duties' });
  });

  it('does not register an invoice whose coding does not balance or whose next step has nobody', () => {
    expect(started(context({ codingProblem: 'rows add up to 1.00' })).check(approve('alice'))).toMatchObject({ code: 'coding_incomplete' });
    const nobody = context({ steps: [{ kind: 'review', mode: 'any', assignees: [], signable: {} }] });
    expect(started(nobody).check(approve('alice'))).toMatchObject({ code: 'no_addressee' });
  });

  it('in mode all, waits for every assignee', () => {
    const p = started(context({ steps: [{ kind: 'review', mode: 'all', assignees: ['bob', 'carol'], signable: {} }] }));
    p.apply(approve('alice'));
    expect(p.apply(approve('bob'))).toMatchObject({ stage: 'review', moved: false });
    expect(p.check(approve('bob'))).toMatchObject({ code: 'already_acted' });
    expect(p.apply(approve('carol'))).toMatchObject({ stage: 'payment', moved: true });
  });

  it('reject sends the invoice to the clerks, and resubmitting clears the signatures', () => {
    const p = started();
    p.apply(approve('alice'));
    p.apply(approve('bob'));
    expect(p.check({ kind: 'reject', payload: { by: 'dave', reason: ' ' } })).toMatchObject({ code: 'invalid_payload' });
    expect(p.apply({ kind: 'reject', payload: { by: 'dave', reason: 'wrong price' } })).toMatchObject({ stage: 'rejected' });
    expect(p.state().history.at(-1)?.message).toContain('wrong price');
    expect(p.apply(approve('alice'))).toMatchObject({ stage: 'review' });
    expect(p.state().rows.every((r) => !r.reviewedBy && !r.approvedBy)).toBe(true);
  });

  it('numbers snapshots so the projection can drop stale ones', () => {
    const p = started();
    const a = p.snapshot();
    p.apply(approve('alice'));
    expect(p.snapshot().seq).toBeGreaterThan(a.seq);
  });
});
