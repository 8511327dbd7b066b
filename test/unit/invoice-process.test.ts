import type { DirectoryUser } from '../../domain/routing/assign';
import type { Preparation, RouteStep } from '../../workflows/process';
import { livenessViolations, paymentViolations, type World } from '../../workflows/process/invariants';
import { act, settle, start } from '../process-driver';

const C = 'c0000000-0000-4000-8000-000000000001';

function user(id: string, roles: string[], more: Partial<DirectoryUser> = {}): DirectoryUser {
  return { id, companyId: C, roles, groups: [], costCentres: [], confidential: false, active: true, approvalLimits: [], ...more };
}

const limit = (amount: string | null) => ({ approvalLimits: [{ currency: '*', amount }] });

function world(overrides: Partial<World> = {}, steps?: RouteStep[]): World {
  return {
    directory: [
      user('alice', ['clerk']),
      user('bob', ['reviewer']),
      user('carol', ['approver'], limit('10000.00')),
      user('dave', ['approver'], limit(null)),
      user('erin', ['admin'], { confidential: true }),
    ],
    partnered: () => false,
    rules: { twoApproverThreshold: null },
    route: {
      steps: steps ?? [
        { kind: 'review', mode: 'any', assignees: { users: ['bob'] } },
        { kind: 'approval', mode: 'any', assignees: { users: ['carol', 'dave'] } },
      ],
    },
    ...overrides,
  };
}

function prep(w: World, more: Partial<Preparation> = {}, invoice: Partial<Preparation['invoice']> = {}): Preparation {
  return {
    invoice: { companyId: C, currency: 'EUR', gross: '1250.00', confidential: false, registeredBy: 'alice', ...invoice },
    rows: [
      { id: 'r1', kind: 'expense', dimensions: { costCentre: 'CC-1' } },
      { id: 'r2', kind: 'expense', dimensions: { costCentre: 'CC-2' } },
    ],
    route: w.route,
    ...more,
  };
}

const approve = (by: string, taskId?: string) => ({ kind: 'approve' as const, payload: { by, ...(taskId ? { taskId } : {}) } });

function expectInvariants(w: World, p: ReturnType<typeof start>) {
  expect([...livenessViolations(w, p), ...paymentViolations(w, p)]).toEqual([]);
}

describe('invoice process v2', () => {
  it('walks new, review, approval to payment with signatures on every row', () => {
    const w = world();
    const p = start('i1', prep(w), w);
    expect(p.waitingOn).toEqual(['alice']);
    expect(act(p, w, approve('alice'))).toMatchObject({ ok: true, result: { stage: 'review', openTask: { assignees: ['bob'] } } });
    expect(act(p, w, approve('bob'))).toMatchObject({ ok: true, result: { stage: 'approval' } });
    expect(p.waitingOn).toEqual(['carol', 'dave']);
    expect(act(p, w, approve('dave'))).toMatchObject({ ok: true, result: { stage: 'payment', moved: true } });
    expect(p.state().rows).toEqual([
      expect.objectContaining({ rowId: 'r1', reviewedBy: 'bob', approvedBy: 'dave' }),
      expect.objectContaining({ rowId: 'r2', reviewedBy: 'bob', approvedBy: 'dave' }),
    ]);
    expectInvariants(w, p);
  });

  it('in mode all, every approver acts even when the rows are signed already, then the invoice moves on', () => {
    const w = world({}, [{ kind: 'approval', mode: 'all', assignees: { users: ['carol', 'dave'] } }]);
    const p = start('i2', prep(w), w);
    act(p, w, approve('alice'));
    expect(act(p, w, approve('carol'))).toMatchObject({ ok: true, result: { stage: 'approval', moved: false } });
    expect(p.waitingOn).toEqual(['dave']);
    expectInvariants(w, p);
    expect(act(p, w, approve('carol'))).toMatchObject({ ok: false, refusal: { code: 'already_acted' } });
    expect(act(p, w, approve('dave'))).toMatchObject({ ok: true, result: { stage: 'payment' } });
    expect(p.raw.tasks.find((t) => t.stage === 'approval')?.actedBy).toEqual(['carol', 'dave']);
  });

  it('a reassigned approver signs with their own rights: an over-limit invoice reassigned to dave is approved', () => {
    const w = world({}, [{ kind: 'approval', mode: 'any', assignees: { users: ['carol'] } }]);
    const p = start('i3', prep(w, {}, { gross: '50000.00' }), w);
    act(p, w, approve('alice'));
    // carol's limit is below the gross: the admins (no rights) and then the approvers are tried; dave qualifies.
    expect(p.waitingOn).toEqual(['dave']);
    expect(act(p, w, { kind: 'reassign', payload: { by: 'erin', to: { users: ['carol'] } } })).toMatchObject({
      ok: false,
      refusal: { code: 'no_addressee' },
    });
    expect(act(p, w, { kind: 'reassign', payload: { by: 'erin', to: { users: ['dave'] } } })).toMatchObject({ ok: true });
    expect(act(p, w, approve('dave'))).toMatchObject({ ok: true, result: { stage: 'payment' } });
    expectInvariants(w, p);
  });

  it('a confidential invoice goes only to users cleared for it', () => {
    const w = world();
    w.directory.push(user('frank', ['clerk'], { confidential: true }));
    const p = start('i4', prep(w, {}, { confidential: true }), w);
    expect(p.waitingOn).toEqual(['frank']);
    act(p, w, approve('frank'));
    // bob is not cleared: the review goes to the admins who are (erin).
    expect(p.waitingOn).toEqual(['erin']);
    expectInvariants(w, p);
  });

  it('without a flow template, registration is refused with the reason', () => {
    const w = world({ route: { steps: [], problem: 'No flow template applies' } });
    const p = start('i5', prep(w), w);
    expect(act(p, w, approve('alice'))).toMatchObject({ ok: false, refusal: { code: 'no_route', message: 'No flow template applies' } });
    expect(p.stage).toBe('new');
  });

  it('nobody in the company may approve: exceptions review with the reason, never a task nobody can close', () => {
    const w = world({}, [{ kind: 'approval', mode: 'any', assignees: { users: ['carol'] } }]);
    w.directory = w.directory.filter((u) => u.id !== 'dave');
    const p = start('i6', prep(w, {}, { gross: '50000.00' }), w);
    act(p, w, approve('alice'));
    expect(p.stage).toBe('exceptions_review');
    expect(p.raw.tasks.at(-1)?.message).toMatch(/Nobody in the company may approve it/);
    expectInvariants(w, p);
  });

  it('an action names its task: a second approve with the same task id is refused as changed concurrently', () => {
    const w = world({}, [
      { kind: 'approval', mode: 'any', assignees: { users: ['dave'] } },
      { kind: 'control', mode: 'any', assignees: { users: ['dave'] } },
    ]);
    const p = start('i7', prep(w), w);
    act(p, w, approve('alice'));
    const taskId = p.task!.id;
    expect(act(p, w, approve('dave', taskId))).toMatchObject({ ok: true, result: { stage: 'control' } });
    expect(act(p, w, approve('dave', taskId))).toMatchObject({ ok: false, refusal: { code: 'changed_concurrently' } });
  });

  it('signals must come from an admin and are marked as Temporal signals', () => {
    const w = world();
    const p = start('i8', prep(w), w);
    expect(act(p, w, { ...approve('alice'), via: 'signal' })).toMatchObject({ ok: false, refusal: { code: 'not_admin' } });
    expect(act(p, w, { kind: 'restart', payload: { by: 'erin', stage: 'new' }, via: 'signal' })).toMatchObject({ ok: true });
    expect(p.raw.history.at(-1)?.message).toMatch(/by Temporal signal/);
  });

  it('above the threshold two different approvers sign every row', () => {
    const w = world({ rules: { twoApproverThreshold: '1000.005' } });
    const p = start('i9', prep(w), w);
    act(p, w, approve('alice'));
    act(p, w, approve('bob'));
    expect(act(p, w, approve('carol'))).toMatchObject({ ok: true, result: { stage: 'approval' } });
    expect(p.waitingOn).toEqual(['dave']);
    expect(act(p, w, approve('dave'))).toMatchObject({ ok: true, result: { stage: 'payment' } });
    expectInvariants(w, p);
  });

  it('the last one to say not mine hands the task to the admins, or to any approver who can sign', () => {
    const w = world();
    const p = start('i10', prep(w), w);
    act(p, w, approve('alice'));
    act(p, w, approve('bob'));
    act(p, w, { kind: 'notMine', payload: { by: 'carol' } });
    act(p, w, { kind: 'notMine', payload: { by: 'dave' } });
    // erin has no approval rights and carol and dave left: nobody else may sign.
    expect(p.stage).toBe('exceptions_review');
    expectInvariants(w, p);
  });

  it('posting refused for good sends the invoice to exceptions review, and resolving it goes back through the gate', () => {
    const w = world();
    const p = start('i11', prep(w), w);
    act(p, w, approve('alice'));
    act(p, w, approve('bob'));
    act(p, w, approve('dave'));
    p.postingFailed('the journal would be empty');
    settle(p, w);
    expect(p.stage).toBe('exceptions_review');
    expect(act(p, w, { kind: 'resolveException', payload: { by: 'alice' } })).toMatchObject({ ok: true, result: { stage: 'payment' } });
  });

  describe('mode all with not mine, delegation and reassign', () => {
    const allApprove = () => world({}, [{ kind: 'approval', mode: 'all', assignees: { users: ['carol', 'dave'] } }]);

    it('not mine removes the user part: the task completes when the others have acted', () => {
      const w = allApprove();
      const p = start('a1', prep(w), w);
      act(p, w, approve('alice'));
      act(p, w, approve('carol'));
      expect(act(p, w, { kind: 'notMine', payload: { by: 'dave' } })).toMatchObject({ ok: true, result: { stage: 'payment' } });
      expectInvariants(w, p);
    });

    it('the delegate owes the part of the delegator', () => {
      const w = allApprove();
      w.directory.push(user('frank', ['approver'], limit(null)));
      const p = start('a2', prep(w), w);
      act(p, w, approve('alice'));
      act(p, w, { kind: 'delegate', payload: { by: 'carol', to: 'frank' } });
      expect(p.waitingOn).toEqual(['frank', 'dave']);
      act(p, w, approve('dave'));
      expect(p.stage).toBe('approval');
      expect(act(p, w, approve('frank'))).toMatchObject({ ok: true, result: { stage: 'payment' } });
      expect(p.raw.rows.every((r) => r.approvals.map((a) => a.by).join() === 'dave')).toBe(true);
    });

    it('reassign makes the new people the ones awaited, and who acted stays recorded', () => {
      const w = allApprove();
      w.directory.push(user('frank', ['approver'], limit(null)));
      const p = start('a3', prep(w), w);
      act(p, w, approve('alice'));
      act(p, w, approve('carol'));
      act(p, w, { kind: 'reassign', payload: { by: 'erin', to: { users: ['frank'] } } });
      expect(p.waitingOn).toEqual(['frank']);
      expect(p.task?.actedBy).toEqual(['carol']);
      expect(act(p, w, approve('frank'))).toMatchObject({ ok: true, result: { stage: 'payment' } });
    });

    it('rows still unsigned after everyone acted go to those who can sign them', () => {
      const w = world({}, [{ kind: 'approval', mode: 'all', assignees: { users: ['frank', 'grace'] } }]);
      w.directory.push(user('frank', ['approver'], { ...limit(null), costCentres: ['CC-1'] }));
      w.directory.push(user('grace', ['approver'], { ...limit(null), costCentres: ['CC-1'] }));
      const p = start('a4', prep(w), w);
      act(p, w, approve('alice'));
      act(p, w, approve('frank'));
      act(p, w, approve('grace'));
      // Row r2 is on CC-2, which neither may sign: the approvers who can (carol, dave) get a task for it.
      expect(p.stage).toBe('approval');
      expect(p.waitingOn).toEqual(['carol', 'dave']);
      expectInvariants(w, p);
    });
  });

  it('a coding change keeps the signatures of unchanged rows, drops those of changed rows, and resolves the task again', () => {
    const w = world({}, [
      { kind: 'review', mode: 'any', assignees: { users: ['bob'] } },
      { kind: 'approval', mode: 'any', assignees: { users: ['carol', 'dave'] } },
    ]);
    const p = start(
      'c1',
      prep(w, {
        agreement: { id: 'a1', touchless: false, stage: 'review' },
        rows: [
          { id: 'r1', kind: 'expense', dimensions: { costCentre: 'CC-1' }, approvedBy: 'dave', agreementId: 'a1' },
          { id: 'r2', kind: 'expense', dimensions: { costCentre: 'CC-2' }, approvedBy: 'dave', agreementId: 'a1' },
        ],
      }),
      w,
    );
    expect(p.stage).toBe('review');
    const action = {
      kind: 'codingChanged' as const,
      via: 'update' as const,
      payload: { by: 'bob', version: 0, rows: [] },
      lookups: {
        actor: { userId: 'bob', admin: false },
        coding: {
          version: 1,
          changes: ['row 2: ...'],
          rows: [
            { id: 'r1', kind: 'expense' as const, dimensions: { costCentre: 'CC-1' } },
            { id: 'r3', kind: 'expense' as const, dimensions: { costCentre: 'CC-3' } },
          ],
        },
      },
    };
    expect(p.check(action)).toBeUndefined();
    p.apply(action);
    settle(p, w);
    expect(p.raw.rows.map((r) => [r.id, r.approvals.map((a) => a.by)])).toEqual([
      ['r1', ['dave']],
      ['r3', []],
    ]);
    expect(p.waitingOn).toEqual(['bob']);
    act(p, w, approve('bob'));
    // Only the new row r3 needs a signature; both approvers may sign it.
    expect(p.stage).toBe('approval');
    expect(p.waitingOn).toEqual(['carol', 'dave']);
    act(p, w, approve('carol'));
    expect(p.raw.rows.map((r) => [r.id, r.approvals.map((a) => a.by)])).toEqual([
      ['r1', ['dave']],
      ['r3', ['carol']],
    ]);
    expect(p.stage).toBe('payment');
  });
});
