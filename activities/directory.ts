/**
 * Routing's view of the company, read fresh for every decision: users with their roles, groups,
 * limits, cost centres, clearance and active flag, the settings, and partnerships.
 */
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/client';
import { approvalLimits, companies, costCentres, partnerships, settings, users } from '../db/schema';
import {
  actorFacts,
  delegateOutcome,
  resolveAssignment as resolve,
  type ActorFacts,
  type AssignmentRequest,
  type AssignmentOutcome,
  type CompanyRules,
  type DelegateOutcome,
  type DirectoryUser,
} from '../domain/routing/assign';
import { activity } from './failures';

const id = z.string().min(1).max(300);
const Spec = z.strictObject({
  users: z.array(id).max(500).optional(),
  groups: z.array(id).max(500).optional(),
  roles: z.array(id).max(50).optional(),
  byDimension: z.string().max(100).optional(),
});
export const AssignmentRequestSchema = z.strictObject({
  purpose: z.enum(['review', 'approval', 'control', 'copy', 'registration', 'resubmission', 'exceptions']),
  spec: Spec.optional(),
  fallback: z.boolean(),
  exclude: z.array(id).max(1000).readonly(),
  invoice: z.strictObject({
    companyId: z.uuid(),
    currency: z.string().regex(/^[A-Z]{3}$/),
    gross: z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/),
    confidential: z.boolean(),
    registeredBy: id.optional(),
    codedBy: id.optional(),
  }),
  rows: z
    .array(z.strictObject({ id, dimensions: z.record(z.string(), z.string()), approvers: z.array(id).max(10).readonly() }))
    .max(20_000)
    .readonly(),
});

type DbOrTx = Db | Tx;

/** A user's approval limits, read with the user (amounts as exact decimal text). */
const limitsOfUser = sql<{ currency: string; amount: string | null }[]>`coalesce((
  select json_agg(json_build_object('currency', l.currency, 'amount', l.amount::text) order by l.currency)
  from ${approvalLimits} l where l.user_id = ${users.id}
), '[]'::json)`;

/** Users (any company) with their approval limits, as routing sees them: one statement. */
async function usersWithLimits(db: DbOrTx, where: SQL): Promise<DirectoryUser[]> {
  const rows = await db.select({ u: users, limits: limitsOfUser }).from(users).where(where);
  return rows.map(({ u, limits }) => ({
    id: u.id,
    companyId: u.companyId,
    roles: u.roles,
    groups: u.groups,
    costCentres: u.costCentres,
    confidential: u.confidential,
    active: u.active,
    permissions: u.permissions,
    absence:
      u.absentFrom && u.absentUntil
        ? { from: u.absentFrom.toISOString(), until: u.absentUntil.toISOString(), substituteId: u.substituteId }
        : undefined,
    approvalLimits: limits,
  }));
}

/** Every user of a company, with limits. */
export async function loadDirectory(db: DbOrTx, companyId: string): Promise<DirectoryUser[]> {
  return usersWithLimits(db, eq(users.companyId, companyId));
}

export async function loadUser(db: DbOrTx, userId: string): Promise<DirectoryUser | undefined> {
  const [user] = await usersWithLimits(db, eq(users.id, userId));
  return user;
}

/** The company rules routing applies: the two-approver threshold and the cost-centre owners (one statement). */
export async function loadRules(db: DbOrTx, companyId: string): Promise<CompanyRules> {
  const [row] = await db
    .select({
      threshold: sql<string | null>`(select ${settings.twoApproverThreshold} from ${settings} where ${settings.companyId} = ${companyId})`,
      owners: sql<{ code: string; ownerId: string }[]>`coalesce((
        select json_agg(json_build_object('code', c.code, 'ownerId', c.owner_id))
        from ${costCentres} c where c.company_id = ${companyId} and c.active and c.owner_id is not null
      ), '[]'::json)`,
    })
    .from(sql`(select 1) as one`);
  return {
    twoApproverThreshold: row?.threshold ?? null,
    costCentreOwners: Object.fromEntries((row?.owners ?? []).map((c) => [c.code, c.ownerId])),
  };
}

/** Whether the environments of two companies are the same or in partnership. */
export async function partnered(db: DbOrTx, companyA: string, companyB: string): Promise<boolean> {
  const envs = await db
    .select({ id: companies.id, environment: companies.environment })
    .from(companies)
    .where(inArray(companies.id, [companyA, companyB]));
  const a = envs.find((e) => e.id === companyA)?.environment;
  const b = envs.find((e) => e.id === companyB)?.environment;
  if (!a || !b) return false;
  if (a === b) return true;
  const [x, y] = [a, b].sort() as [string, string];
  const [row] = await db
    .select()
    .from(partnerships)
    .where(and(eq(partnerships.environmentA, x), eq(partnerships.environmentB, y)));
  return !!row;
}

/** Who a task goes to, read with the given connection or transaction (intake's first step reads in its own). */
export async function resolveAssignmentIn(
  db: DbOrTx,
  { companyId, request }: { companyId: string; request: AssignmentRequest },
  clock: () => Date,
): Promise<AssignmentOutcome> {
  const [directory, rules] = await Promise.all([loadDirectory(db, companyId), loadRules(db, companyId)]);
  return resolve(request, directory, { ...rules, now: clock().toISOString() });
}

export function directoryActivities({ db, clock }: { db: Db; clock: () => Date }) {
  return {
    /** Who a task goes to, and with which rights, from the company's current directory. */
    resolveAssignment: activity(
      z.strictObject({ companyId: z.uuid(), request: AssignmentRequestSchema }),
      async (input): Promise<AssignmentOutcome> => resolveAssignmentIn(db, input, clock),
    ),

    /** Whether a task may be delegated to a user (of the company or a partner environment), with their rights. */
    checkDelegate: activity(
      z.strictObject({ companyId: z.uuid(), userId: id, request: AssignmentRequestSchema }),
      async ({ companyId, userId, request }): Promise<DelegateOutcome> => {
        const [user, rules] = await Promise.all([loadUser(db, userId), loadRules(db, companyId)]);
        const isPartner = !!user && user.companyId !== companyId && (await partnered(db, companyId, user.companyId));
        return delegateOutcome(user, isPartner, request, rules);
      },
    ),

    /** Whether the acting user is an active admin of the invoice's company (signals and admin actions). */
    checkActor: activity(z.strictObject({ companyId: z.uuid(), userId: id }), async ({ companyId, userId }): Promise<ActorFacts> => {
      return actorFacts(await loadUser(db, userId), companyId, userId);
    }),
  };
}
