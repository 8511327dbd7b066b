/**
 * The rules that must always hold (SPEC 2.0), as code. The model-based test asserts them after
 * every step of random action sequences; the README states them in words.
 *
 * - Liveness: every open task has at least one assignee who can see the invoice and whose action
 *   the process accepts (approval: rights on a row still unsigned, not barred by segregation of
 *   duties); in mode `all`, every assignee still to act can. Nobody qualifying sends the invoice
 *   to exceptions review with a reason, never to a task nobody can close.
 * - Safety: an invoice is in `payment` or `posted` only when every coding row carries
 *   `requiredApprovals` signatures from different users, each of whom, when signing, had the
 *   approver role, a limit covering the gross in its currency and the row's dimension right, and
 *   had neither submitted nor coded the invoice.
 */
import {
  actorFacts,
  approvalRights,
  barredFromApproving,
  canSee,
  delegateOutcome,
  requiredApprovalsFor,
  resolveAssignment,
  type CompanyRules,
  type DirectoryUser,
} from '../../domain/routing/assign';
import { CLOSED_STAGES } from '../../domain/stages';
import type { Action, LookupNeeds, Lookups } from './actions';
import type { Route } from './state';
import type { InvoiceProcess } from './index';
import { pendingOn } from './route';

/** Everything outside the invoice that routing reads: the directory, partnerships, settings, the flow. */
export interface World {
  directory: DirectoryUser[];
  /** Whether users of `companyId`'s environment may receive tasks of the invoice's company. */
  partnered(invoiceCompanyId: string, userCompanyId: string): boolean;
  rules: CompanyRules;
  /** The route as the flow template says now. */
  route: Route;
}

/** Does the lookups an action needs, from the world (the activities do the same from Postgres). */
export function lookupsFrom(world: World, companyId: string, needs: LookupNeeds): Lookups {
  const find = (id: string) => world.directory.find((u) => u.id === id);
  const lookups: Lookups = {};
  if (needs.actor !== undefined) lookups.actor = actorFacts(find(needs.actor), companyId, needs.actor);
  if (needs.delegate) {
    const user = find(needs.delegate.userId);
    const partnered = !!user && user.companyId !== companyId && world.partnered(companyId, user.companyId);
    lookups.delegate = delegateOutcome(user, partnered, needs.delegate.request, world.rules);
  }
  if (needs.route) lookups.route = world.route;
  if (needs.assignment) lookups.assignment = resolveAssignment(needs.assignment, world.directory, world.rules);
  return lookups;
}

/** Whether the user could see the invoice now: of its company, or a partner delegate, cleared where needed. */
function seesNow(world: World, user: DirectoryUser, p: InvoiceProcess): boolean {
  const invoice = p.raw.invoice;
  if (canSee(user, invoice)) return true;
  return user.active && (!invoice.confidential || user.confidential) && world.partnered(invoice.companyId, user.companyId);
}

/** Whether `userId` can finish their part of the open task now. */
export function canAct(world: World, p: InvoiceProcess, userId: string): boolean {
  const user = world.directory.find((u) => u.id === userId);
  const task = p.task;
  if (!user || !task || task.state !== 'open' || !seesNow(world, user, p)) return false;
  if (task.purpose === 'approval') {
    const rights = approvalRights(
      user,
      p.raw.invoice,
      p.raw.rows.map((r) => ({ id: r.id, dimensions: r.dimensions, approvers: r.approvals.map((a) => a.by) })),
    );
    if (rights.length === 0) return false;
  }
  const attempts: Action[] =
    task.purpose === 'registration' || task.purpose === 'resubmission' || task.purpose === 'exceptions'
      ? [
          { kind: 'approve', payload: { by: userId, taskId: task.id }, via: 'update', lookups: {} },
          { kind: 'resolveException', payload: { by: userId, taskId: task.id }, via: 'update', lookups: {} },
          { kind: 'reject', payload: { by: userId, taskId: task.id, reason: 'cannot be paid' }, via: 'update', lookups: {} },
        ]
      : [{ kind: 'approve', payload: { by: userId, taskId: task.id }, via: 'update', lookups: {} }];
  return attempts.some((a) => {
    const action = { ...a, lookups: lookupsFrom(world, p.raw.invoice.companyId, p.needs(a)) } as Action;
    return p.check(action) === undefined;
  });
}

/** Liveness violations of the current state, in words (empty when it holds). */
export function livenessViolations(world: World, p: InvoiceProcess): string[] {
  const s = p.raw;
  const open = s.tasks.filter((t) => t.state !== 'done');
  if (CLOSED_STAGES.includes(s.stage)) return open.length > 0 ? [`a task is open in ${s.stage}`] : [];
  if (open.length !== 1) return [`${open.length} tasks are open in ${s.stage}; exactly one must be`];
  const task = open[0]!;
  if (task.state !== 'open') return [`the ${task.stage} task is still being resolved`];
  if (task.stage !== s.stage) return [`the open task is a ${task.stage} task but the invoice is in ${s.stage}`];
  if (task.stage === 'exceptions_review' && !task.message?.trim()) return ['the exceptions review task carries no reason'];
  const waiting = pendingOn(task);
  if (waiting.length === 0) return [`the ${task.stage} task waits on nobody`];
  const able = waiting.filter((u) => canAct(world, p, u));
  if (task.mode === 'all' && able.length < waiting.length) {
    return [`in mode all, ${waiting.filter((u) => !able.includes(u)).join(', ')} cannot act on the ${task.stage} task`];
  }
  if (able.length === 0) return [`nobody of ${waiting.join(', ')} can act on the ${task.stage} task`];
  return [];
}

/** Problems with a signature given now, judged with the world as it is at this moment. */
export function signatureViolations(world: World, p: InvoiceProcess, rowId: string, signer: string): string[] {
  const user = world.directory.find((u) => u.id === signer);
  const invoice = p.raw.invoice;
  const row = p.raw.rows.find((r) => r.id === rowId);
  if (!user) return [`${signer} signed row ${rowId} but is unknown`];
  if (!user.active) return [`${signer} signed row ${rowId} while inactive`];
  if (barredFromApproving(signer, invoice)) return [`${signer} signed row ${rowId} against segregation of duties`];
  if (!row) return [`row ${rowId} does not exist`];
  const rights = approvalRights(user, invoice, [{ id: row.id, dimensions: row.dimensions, approvers: [] }]);
  if (!rights.includes(rowId)) return [`${signer} signed row ${rowId} without the role, limit or dimension right`];
  if (invoice.confidential && !user.confidential) return [`${signer} signed confidential row ${rowId} without clearance`];
  return [];
}

/** Safety violations of an invoice in payment or posted (empty when it holds or it is not there yet). */
export function paymentViolations(world: World, p: InvoiceProcess): string[] {
  const s = p.raw;
  if (s.stage !== 'payment' && s.stage !== 'posted') return [];
  const required = requiredApprovalsFor(s.invoice.gross, world.rules);
  const problems: string[] = [];
  if (s.rows.length === 0) problems.push('paid without coding rows');
  for (const row of s.rows) {
    const signers = row.approvals.map((a) => a.by);
    if (signers.length < required) problems.push(`row ${row.id} has ${signers.length} of ${required} approval signatures`);
    if (new Set(signers).size !== signers.length) problems.push(`row ${row.id} is signed twice by the same user`);
    for (const by of signers) if (barredFromApproving(by, s.invoice)) problems.push(`row ${row.id} signed by its submitter or coder ${by}`);
  }
  return problems;
}
