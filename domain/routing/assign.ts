/**
 * Who a task goes to, and with which rights, from the company's current directory. Pure: the
 * `resolveAssignment` activity loads the directory and the settings and calls this; the
 * model-based test calls it with a generated directory. This is where the liveness invariant is
 * made: a task is only ever given to people who can see the invoice and can complete the task.
 */
import { compareDecimal } from '../money';
import { signableRows, type ApprovalLimit } from '../approval';
import type { AssigneeSpec } from '../flow';
import type { Role, StepKind } from '../stages';
import { barredFromApproving, canApproveWith, rowNeeds, type RoutingInvoice, type RoutingRow } from './signatures';

export { barredFromApproving, canApproveWith, rowNeeds, type RoutingInvoice, type RoutingRow };

/** One user as routing sees them: what they may see and sign, now. */
export interface DirectoryUser {
  id: string;
  companyId: string;
  roles: readonly Role[] | readonly string[];
  groups: readonly string[];
  /** Cost centres the user may approve; empty means every cost centre. */
  costCentres: readonly string[];
  /** Cleared for confidential invoices. */
  confidential: boolean;
  active: boolean;
  approvalLimits: readonly ApprovalLimit[];
  /** Granted permissions beyond the roles, e.g. `review:override`. */
  permissions?: readonly string[];
  /** An absence period (ISO instants, `until` exclusive) and who takes the user's tasks meanwhile. */
  absence?: Absence | undefined;
}

export interface Absence {
  from: string;
  until: string;
  substituteId: string | null;
}

/** How many substitutes of substitutes routing follows before it gives up on a chain. */
export const MAX_SUBSTITUTE_CHAIN = 5;

/** Whether the user is absent at `now` (an ISO instant); never without a clock. */
export function isAbsent(user: DirectoryUser, now: string | undefined): boolean {
  if (!user.absence || now === undefined) return false;
  const at = Date.parse(now);
  return Date.parse(user.absence.from) <= at && at < Date.parse(user.absence.until);
}

/** What a task is for: a flow step, or one of the clerks' tasks outside the flow. */
export type TaskPurpose = StepKind | 'registration' | 'resubmission' | 'exceptions';

export interface AssignmentRequest {
  purpose: TaskPurpose;
  /** Who the step (or the admin's reassign, or the escalation) names; absent for the clerks' tasks. */
  spec?: AssigneeSpec | undefined;
  /** When the spec yields nobody: admins, then (approval) any approver of the company. */
  fallback: boolean;
  /** Users who may not be chosen: they acted already, or said "not mine". */
  exclude: readonly string[];
  invoice: RoutingInvoice;
  rows: readonly RoutingRow[];
}

export interface Assignment {
  ok: true;
  assignees: string[];
  /** Approval tasks: the rows each assignee may sign (limit and dimension rights). */
  rights: Record<string, string[]>;
  /** Where the assignees came from. */
  source: 'step' | 'admins' | 'approvers' | 'clerks';
  /** Approval signatures every row needs (2 above the company's two-approver threshold). */
  requiredApprovals: number;
  /** Named users left out, with the reason, for the audit trail. */
  skipped: { userId: string; reason: string }[];
}

export interface NoAssignee {
  ok: false;
  /** Why nobody qualifies, in words an administrator understands. */
  reason: string;
  requiredApprovals: number;
}

export type AssignmentOutcome = Assignment | NoAssignee;

export interface CompanyRules {
  /** Gross above which two different approvers must sign, compared exactly in any currency; null for never. */
  twoApproverThreshold: string | null;
  /** Owner of each cost centre (code to user id), for steps that address "by dimension". */
  costCentreOwners?: Readonly<Record<string, string>>;
  /** The time of the resolution (ISO instant), for absences; without it nobody counts as absent. */
  now?: string | undefined;
}

/** 2 when the gross is above the threshold, else 1. Exact decimal comparison: never throws on scale. */
export function requiredApprovalsFor(gross: string, rules: CompanyRules): number {
  return rules.twoApproverThreshold !== null && compareDecimal(gross, rules.twoApproverThreshold) > 0 ? 2 : 1;
}

/** Whether a user may see the invoice at all: active, of its company, cleared when it is confidential. */
export function canSee(user: DirectoryUser, invoice: RoutingInvoice): boolean {
  return user.active && user.companyId === invoice.companyId && (!invoice.confidential || user.confidential);
}

/**
 * The rows a user may sign now, judged with current data: the approver role, a limit covering the
 * gross in the invoice's currency, the dimension right on each row, and not barred by segregation
 * of duties. Empty when the user may sign nothing.
 */
export function approvalRights(user: DirectoryUser, invoice: RoutingInvoice, rows: readonly RoutingRow[]): string[] {
  if (!user.roles.includes('approver') || barredFromApproving(user.id, invoice)) return [];
  return signableRows(user, invoice, rows);
}

/**
 * The users a spec names, in a stable order: by id, group or role, and "by dimension" the owner
 * of each row's cost centre (a cost centre without an owner falls to the users whose cost-centre
 * rights name it).
 */
export function namedBy(
  spec: AssigneeSpec,
  directory: readonly DirectoryUser[],
  rows: readonly RoutingRow[],
  owners: Readonly<Record<string, string>> = {},
): DirectoryUser[] {
  const dimension = spec.byDimension;
  const values = new Set(rows.map((r) => (dimension ? r.dimensions[dimension] : undefined)).filter((v): v is string => v !== undefined));
  const owned = new Set([...values].map((v) => owners[v]).filter((o): o is string => o !== undefined));
  const unowned = new Set([...values].filter((v) => owners[v] === undefined));
  return directory
    .filter(
      (u) =>
        spec.users?.includes(u.id) ||
        u.roles.some((r) => spec.roles?.includes(r)) ||
        u.groups.some((g) => spec.groups?.includes(g)) ||
        (dimension === 'costCentre' && (owned.has(u.id) || u.costCentres.some((c) => unowned.has(c)))),
    )
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Resolves a task's assignees: the people the spec names who qualify; when none does and
 * `fallback` is set, the admins who qualify, then (for approval) any approver of the company who
 * does; for the clerks' tasks, the clerks, then the admins. Nobody qualifying is an answer too,
 * with the reason, so the process can send the invoice to exceptions review.
 */
export function resolveAssignment(request: AssignmentRequest, directory: readonly DirectoryUser[], rules: CompanyRules): AssignmentOutcome {
  const { invoice, rows, purpose } = request;
  const requiredApprovals = requiredApprovalsFor(invoice.gross, rules);
  const excluded = new Set(request.exclude);
  const skipped: Assignment['skipped'] = [];

  const byId = new Map(directory.map((u) => [u.id, u]));
  /** Qualifying users who are absent with no substitute who may take the task: the last resort. */
  let absentOnly: { chosen: string[]; rights: Record<string, string[]>; source: Assignment['source'] } | undefined;

  /** The users as assignees (each once, in order), with their rights on an approval task. */
  const assign = (users: readonly DirectoryUser[]) => {
    const chosen: string[] = [];
    const rights: Record<string, string[]> = {};
    for (const user of users) {
      if (chosen.includes(user.id)) continue;
      chosen.push(user.id);
      if (purpose === 'approval') rights[user.id] = approvalRights(user, invoice, rows);
    }
    return { chosen, rights };
  };

  const qualify = (candidates: readonly DirectoryUser[], record: boolean, source: Assignment['source']) => {
    const present: DirectoryUser[] = [];
    const absentees: DirectoryUser[] = [];
    for (const user of candidates) {
      const why = disqualification(user);
      if (why) {
        if (record) skipped.push({ userId: user.id, reason: why });
        continue;
      }
      if (!isAbsent(user, rules.now)) {
        present.push(user);
        continue;
      }
      const until = user.absence!.until;
      const substitute = substituteFor(user);
      if (substitute) {
        present.push(substitute);
        skipped.push({ userId: user.id, reason: `is absent until ${until}; ${substitute.id} takes it for ${user.id}, who is absent` });
      } else {
        absentees.push(user);
        skipped.push({ userId: user.id, reason: `is absent until ${until} and no substitute of theirs may take it` });
      }
    }
    if (present.length === 0 && absentees.length > 0 && !absentOnly) absentOnly = { ...assign(absentees), source };
    return assign(present);
  };

  /** The first substitute down the user's chain who is present and qualifies; bounded and loop-free. */
  function substituteFor(user: DirectoryUser): DirectoryUser | undefined {
    const seen = new Set([user.id]);
    let current = user;
    for (let hop = 0; hop < MAX_SUBSTITUTE_CHAIN; hop += 1) {
      const next = current.absence?.substituteId ? byId.get(current.absence.substituteId) : undefined;
      if (!next || seen.has(next.id)) return undefined;
      seen.add(next.id);
      if (!isAbsent(next, rules.now)) return disqualification(next) ? undefined : next;
      current = next;
    }
    return undefined;
  }

  function disqualification(user: DirectoryUser): string | undefined {
    if (excluded.has(user.id)) return 'has already acted on or left this task';
    if (!user.active) return 'is not active';
    if (user.companyId !== invoice.companyId) return 'is not of this company';
    if (invoice.confidential && !user.confidential) return 'is not cleared for confidential invoices';
    if (purpose !== 'approval') return undefined;
    if (!user.roles.includes('approver')) return 'does not have the approver role';
    if (barredFromApproving(user.id, invoice)) return 'submitted or coded this invoice (segregation of duties)';
    const rights = approvalRights(user, invoice, rows);
    if (rights.length === 0) return `has no approval rights on this invoice (limit in ${invoice.currency} or cost centres)`;
    if (!canApproveWith(rights, rows, user.id, requiredApprovals)) return 'has no right on any row that still needs a signature';
    return undefined;
  }

  const tiers: { source: Assignment['source']; candidates: () => DirectoryUser[]; record: boolean }[] = [];
  const isClerkTask = purpose === 'registration' || purpose === 'resubmission' || purpose === 'exceptions';
  if (request.spec)
    tiers.push({ source: 'step', candidates: () => namedBy(request.spec!, directory, rows, rules.costCentreOwners), record: true });
  if (!request.spec || request.fallback) {
    if (isClerkTask) tiers.push({ source: 'clerks', candidates: () => directory.filter((u) => u.roles.includes('clerk')), record: false });
    tiers.push({ source: 'admins', candidates: () => directory.filter((u) => u.roles.includes('admin')), record: false });
    if (purpose === 'approval') {
      tiers.push({ source: 'approvers', candidates: () => directory.filter((u) => u.roles.includes('approver')), record: false });
    }
  }
  for (const tier of tiers) {
    const { chosen, rights } = qualify(tier.candidates(), tier.record, tier.source);
    if (chosen.length > 0) return { ok: true, assignees: chosen, rights, source: tier.source, requiredApprovals, skipped };
  }
  // Only absent people qualify, and none has a substitute who may: better them than nobody.
  if (absentOnly)
    return { ok: true, assignees: absentOnly.chosen, rights: absentOnly.rights, source: absentOnly.source, requiredApprovals, skipped };
  // A clerks' task never waits on nobody because everyone who could take it left it: back to them.
  if (isClerkTask && excluded.size > 0 && request.fallback) return resolveAssignment({ ...request, exclude: [] }, directory, rules);
  return { ok: false, reason: nobodyReason(request, skipped), requiredApprovals };
}

function nobodyReason(request: AssignmentRequest, skipped: Assignment['skipped']): string {
  const named = skipped.map((s) => `${s.userId} ${s.reason}`).join('; ');
  if (request.spec && !request.fallback) {
    return `None of the people named may take the ${request.purpose} task${named ? `: ${named}` : ' (nobody active matches)'}`;
  }
  const who =
    request.purpose === 'approval'
      ? `may approve it (approver role, a limit covering ${request.invoice.gross} ${request.invoice.currency}, the cost centres of its rows, and not its submitter or coder)`
      : request.purpose === 'registration' || request.purpose === 'resubmission' || request.purpose === 'exceptions'
        ? 'is a clerk or admin who can see it'
        : `can take its ${request.purpose} step`;
  const confidential = request.invoice.confidential ? ' and is cleared for confidential invoices' : '';
  return `Nobody in the company ${who}${confidential}${named ? `; named but left out: ${named}` : ''}`;
}
/** Whether a task may be delegated to a user, and with which approval rights. */
export type DelegateOutcome = { ok: true; rights: string[] } | { ok: false; code: 'unknown_user' | 'no_approval_rights'; reason: string };

/**
 * Checks a delegate with current data: an active user of the invoice's company, or of an
 * environment in partnership with it, cleared for confidential invoices where needed; for an
 * approval task, with approval rights on a row that still needs their signature.
 */
export function delegateOutcome(
  user: DirectoryUser | undefined,
  partnered: boolean,
  request: AssignmentRequest,
  rules: CompanyRules,
): DelegateOutcome {
  const { invoice, rows } = request;
  if (!user || !user.active) return { ok: false, code: 'unknown_user', reason: `There is no active user ${user?.id ?? 'by that id'}` };
  if (user.companyId !== invoice.companyId && !partnered) {
    return { ok: false, code: 'unknown_user', reason: `${user.id} is in an environment without a partnership with this one` };
  }
  if (invoice.confidential && !user.confidential) {
    return { ok: false, code: 'unknown_user', reason: `${user.id} is not cleared for confidential invoices` };
  }
  if (request.purpose !== 'approval') return { ok: true, rights: [] };
  const rights = approvalRights(user, invoice, rows);
  if (!canApproveWith(rights, rows, user.id, requiredApprovalsFor(invoice.gross, rules))) {
    const why = barredFromApproving(user.id, invoice)
      ? 'submitted or coded this invoice (segregation of duties)'
      : 'has no approval rights on any coding row of this invoice that still needs a signature';
    return { ok: false, code: 'no_approval_rights', reason: `${user.id} ${why}` };
  }
  return { ok: true, rights };
}

/** Who is acting, as far as the admin-only actions and Temporal signals need to know. */
export interface ActorFacts {
  userId: string;
  /** An active admin of the invoice's company. */
  admin: boolean;
  /** Granted permissions (e.g. `review:override`) of an active user of the company. */
  permissions?: string[];
}

/**
 * The worker acting on its own (moving the tasks of a user whose absence began). It has an
 * admin's say on refresh; no user may have this id, and only the worker and Temporal operators,
 * never an API caller, can send an action in its name.
 */
export const SYSTEM_ACTOR = 'system';

export function actorFacts(user: DirectoryUser | undefined, companyId: string, userId: string): ActorFacts {
  if (userId === SYSTEM_ACTOR && !user) return { userId, admin: true, permissions: [] };
  const member = !!user && user.active && user.companyId === companyId;
  return { userId, admin: member && user.roles.includes('admin'), permissions: member ? [...(user.permissions ?? [])] : [] };
}
