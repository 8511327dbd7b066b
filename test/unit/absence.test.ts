/**
 * Absence substitutes in routing (pure): a task for an absent user goes to their substitute when
 * the substitute may take it, else down the substitute chain (bounded, loop-free), else to the
 * next qualifying person; only when nobody present qualifies does it go to the absent people.
 */
import fc from 'fast-check';
import {
  MAX_SUBSTITUTE_CHAIN,
  approvalRights,
  isAbsent,
  resolveAssignment,
  type AssignmentRequest,
  type CompanyRules,
  type DirectoryUser,
} from '../../domain/routing/assign';

const COMPANY = '00000000-0000-4000-8000-000000000001';
const NOW = '2026-12-10T09:00:00.000Z';
const AWAY = { from: '2026-12-01T00:00:00.000Z', until: '2026-12-20T00:00:00.000Z' };

function user(id: string, opts: Partial<DirectoryUser> = {}): DirectoryUser {
  return {
    id,
    companyId: COMPANY,
    roles: ['approver'],
    groups: [],
    costCentres: [],
    confidential: false,
    active: true,
    approvalLimits: [{ currency: '*', amount: null }],
    ...opts,
  };
}

const rules: CompanyRules = { twoApproverThreshold: null, now: NOW };

function approvalOf(users: string[], gross = '1250.00'): AssignmentRequest {
  return {
    purpose: 'approval',
    spec: { users },
    fallback: true,
    exclude: [],
    invoice: { companyId: COMPANY, currency: 'EUR', gross, confidential: false },
    rows: [{ id: 'r1', dimensions: {}, approvers: [] }],
  };
}

describe('absence substitutes', () => {
  it('a task opened during carol’s absence goes to dave, and the audit note says for whom', () => {
    const directory = [user('carol', { absence: { ...AWAY, substituteId: 'dave' } }), user('dave'), user('erin', { roles: ['admin'] })];
    const outcome = resolveAssignment(approvalOf(['carol']), directory, rules);
    expect(outcome).toMatchObject({ ok: true, assignees: ['dave'], source: 'step' });
    expect(outcome.ok && outcome.skipped).toEqual([
      { userId: 'carol', reason: expect.stringContaining('dave takes it for carol, who is absent') },
    ]);
  });

  it('outside the period, and without a clock, carol keeps her tasks', () => {
    const directory = [user('carol', { absence: { ...AWAY, substituteId: 'dave' } }), user('dave')];
    expect(resolveAssignment(approvalOf(['carol']), directory, { ...rules, now: AWAY.until })).toMatchObject({ assignees: ['carol'] });
    expect(resolveAssignment(approvalOf(['carol']), directory, { twoApproverThreshold: null })).toMatchObject({ assignees: ['carol'] });
  });

  it('a substitute without the rights the task needs is skipped: the chain goes on, then the next qualifying person', () => {
    const frank = user('frank', { approvalLimits: [{ currency: '*', amount: '100.00' }], absence: { ...AWAY, substituteId: 'dave' } });
    const carol = user('carol', { absence: { ...AWAY, substituteId: 'frank' } });
    // frank's limit is too low, but he is absent too and his substitute dave may approve.
    expect(resolveAssignment(approvalOf(['carol']), [carol, frank, user('dave')], rules)).toMatchObject({ assignees: ['dave'] });
    // frank present, limit too low: nobody named may take it; the approvers of the company do.
    const present = user('frank', { approvalLimits: [{ currency: '*', amount: '100.00' }] });
    const outcome = resolveAssignment(approvalOf(['carol']), [carol, present, user('dave'), user('gina', { roles: ['clerk'] })], rules);
    expect(outcome).toMatchObject({ ok: true, assignees: ['dave'], source: 'approvers' });
    expect(outcome.ok && outcome.skipped[0]!.reason).toMatch(/no substitute of theirs may take it/);
  });

  it('a loop of substitutes ends; when only absent people qualify, they keep the task rather than nobody', () => {
    const directory = [
      user('carol', { absence: { ...AWAY, substituteId: 'dave' } }),
      user('dave', { absence: { ...AWAY, substituteId: 'carol' } }),
    ];
    const outcome = resolveAssignment(approvalOf(['carol']), directory, rules);
    expect(outcome).toMatchObject({ ok: true, assignees: ['carol'], source: 'step' });
  });

  it('follows at most the bounded number of substitutes', () => {
    const chain = Array.from({ length: MAX_SUBSTITUTE_CHAIN + 2 }, (_, i) =>
      user(`u${i}`, i < MAX_SUBSTITUTE_CHAIN + 1 ? { absence: { ...AWAY, substituteId: `u${i + 1}` } } : {}),
    );
    // The only present user is one hop too far: the admins' and approvers' tiers find them anyway.
    const outcome = resolveAssignment(approvalOf(['u0']), chain, rules);
    expect(outcome).toMatchObject({ ok: true, assignees: [`u${MAX_SUBSTITUTE_CHAIN + 1}`], source: 'approvers' });
  });

  it('property: resolution ends, every assignee may take the task, and absent ones only when nobody present qualifies', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const anyUser = (id: string) =>
      fc.record({
        id: fc.constant(id),
        companyId: fc.constant(COMPANY),
        roles: fc.subarray(['approver', 'admin', 'clerk'] as const),
        groups: fc.constant([] as string[]),
        costCentres: fc.constant([] as string[]),
        confidential: fc.boolean(),
        active: fc.boolean(),
        approvalLimits: fc.constantFrom([{ currency: '*', amount: null }], [{ currency: '*', amount: '100.00' }], []),
        absence: fc.option(
          fc.record({
            from: fc.constantFrom(AWAY.from, '2026-12-15T00:00:00.000Z'),
            until: fc.constant(AWAY.until),
            substituteId: fc.option(fc.constantFrom(...ids), { nil: null }),
          }),
          { nil: undefined },
        ),
      });
    fc.assert(
      fc.property(
        fc.tuple(...ids.map(anyUser)),
        fc.subarray(ids, { minLength: 1 }),
        fc.boolean(),
        fc.constantFrom('50.00', '1250.00'),
        (directory, named, confidential, gross) => {
          const request = { ...approvalOf(named, gross), invoice: { companyId: COMPANY, currency: 'EUR', gross, confidential } };
          const outcome = resolveAssignment(request, directory, rules);
          if (!outcome.ok) return;
          const byId = new Map(directory.map((u) => [u.id, u]));
          const qualifies = (u: DirectoryUser) =>
            u.active && (!confidential || u.confidential) && approvalRights(u, request.invoice, request.rows).length > 0;
          for (const id of outcome.assignees) expect(qualifies(byId.get(id)!)).toBe(true);
          if (outcome.assignees.some((id) => isAbsent(byId.get(id)!, NOW))) {
            // Everyone got this task because nobody present qualifies in any tier.
            expect(directory.filter((u) => qualifies(u) && !isAbsent(u, NOW))).toEqual([]);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
