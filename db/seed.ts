import { and, eq, inArray, sql } from 'drizzle-orm';
import { hashToken } from '../lib/tokens';
import type { Db, Tx } from './client';
import {
  apiTokens,
  approvalLimits,
  codingTemplates,
  companies,
  costCentres,
  flowTemplates,
  groups,
  partnerships,
  settings,
  users,
  vendors,
  type Role,
} from './schema';

const PEOPLE: { name: string; roles: Role[]; limit?: { currency: string; amount: string | null }; confidential?: boolean }[] = [
  { name: 'alice', roles: ['clerk'] },
  { name: 'bob', roles: ['reviewer'] },
  { name: 'carol', roles: ['approver'], limit: { currency: '*', amount: '10000.00' } },
  { name: 'dave', roles: ['approver'], limit: { currency: '*', amount: null } },
  { name: 'erin', roles: ['admin'], confidential: true },
];

/**
 * The demo directory on top of PEOPLE: groups, cost centres with owners and a clerk cleared for
 * confidential invoices. Off for the tests' companies: their tests build the directory they need
 * (an owned cost centre changes who a by-dimension step addresses, and one more clerk who gets
 * the clerks' tasks).
 */
const DIRECTORY = {
  /** Named `fiona`, because tests add users named frank to their companies. */
  people: [{ name: 'fiona', roles: ['clerk'] as Role[], confidential: true }],
  groups: [
    { id: 'approvers', name: 'Approvers', members: ['carol', 'dave'] },
    { id: 'ap-team', name: 'Accounts payable', members: ['alice', 'bob'] },
  ],
  // The demo coding template codes rows on CC-100 and CC-200.
  costCentres: [
    { code: 'CC-100', name: 'Office', owner: 'carol' },
    { code: 'CC-200', name: 'Facilities', owner: 'dave' },
  ],
};

export interface SeedOptions {
  /** The company's environment; its slug by default, so every seeded company is an environment of its own. */
  environment?: string;
  /** The company's display name. */
  name?: string;
  /** Also the demo directory: groups, cost centres with owners, the cleared clerk fiona. */
  directory?: boolean;
}

export interface SeededCompany {
  companyId: string;
  /** User ids by first name, e.g. `users.alice === 'demo.alice'`. */
  users: Record<string, string>;
  /** Bearer tokens by first name, e.g. `tokens.alice === 'demo-alice'`. */
  tokens: Record<string, string>;
  vendorId: string;
  codingTemplateId: string;
  flowTemplateId: string;
  created: boolean;
}

/**
 * The demo company of SPEC 3.3: alice (clerk), bob (reviewer), carol (approver up to 10,000.00
 * in each currency), dave (approver, no limit), erin (admin); review by bob, then approval by
 * carol or dave; with `directory`, also the demo directory (DIRECTORY). Idempotent: a second call
 * returns the existing company. Tests call it with their own slug so each test file gets a company
 * of its own.
 */
export async function seedCompany(db: Db, slug = 'demo', opts: SeedOptions = {}): Promise<SeededCompany> {
  const people = [...PEOPLE, ...(opts.directory ? DIRECTORY.people : [])];
  const tokens = Object.fromEntries(people.map((p) => [p.name, `${slug}-${p.name}`]));
  const userIds = Object.fromEntries(people.map((p) => [p.name, `${slug}.${p.name}`]));
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(companies).where(eq(companies.slug, slug));
    if (existing) {
      // A database seeded before the directory existed gets it too; what an admin changed since stays.
      if (opts.directory) await seedDirectory(tx, existing.id, slug, userIds, tokens);
      const [vendor] = await tx.select().from(vendors).where(eq(vendors.companyId, existing.id)).limit(1);
      const [coding] = await tx.select().from(codingTemplates).where(eq(codingTemplates.companyId, existing.id)).limit(1);
      const [flow] = await tx.select().from(flowTemplates).where(eq(flowTemplates.companyId, existing.id)).limit(1);
      return {
        companyId: existing.id,
        users: userIds,
        tokens,
        vendorId: vendor!.id,
        codingTemplateId: coding!.id,
        flowTemplateId: flow!.id,
        created: false,
      };
    }
    const [company] = await tx
      .insert(companies)
      // Each seeded company is an environment of its own; partnerships join environments.
      .values({ slug, name: opts.name ?? (slug === 'demo' ? 'Demo Company' : `Company ${slug}`), environment: opts.environment ?? slug })
      .returning();
    const companyId = company!.id;
    await tx.insert(settings).values({ companyId, useWorkqueueSend: true, allowBatchApproveAll: false });
    for (const p of PEOPLE) {
      await tx.insert(users).values({
        id: userIds[p.name]!,
        companyId,
        name: p.name.charAt(0).toUpperCase() + p.name.slice(1),
        email: `${p.name}@${slug}.example`,
        roles: p.roles,
        confidential: p.confidential ?? false,
      });
      await tx.insert(apiTokens).values({ userId: userIds[p.name]!, tokenHash: hashToken(tokens[p.name]!), label: 'demo' });
      if (p.limit) await tx.insert(approvalLimits).values({ userId: userIds[p.name]!, ...p.limit });
    }
    const [coding] = await tx
      .insert(codingTemplates)
      .values({
        companyId,
        name: 'Office costs',
        isDefault: true,
        rows: [
          { account: '6100', percent: '60', dimensions: { costCentre: 'CC-100' } },
          { account: '6200', percent: '40', dimensions: { costCentre: 'CC-200' } },
        ],
        taxAccount: '2640',
        taxCode: 'VAT-IN',
      })
      .returning();
    const [flow] = await tx
      .insert(flowTemplates)
      .values({
        companyId,
        name: 'Review and approval',
        isDefault: true,
        steps: [
          { kind: 'review', assignees: { users: [userIds.bob!] }, mode: 'any' },
          { kind: 'approval', assignees: { users: [userIds.carol!, userIds.dave!] }, mode: 'any' },
        ],
      })
      .returning();
    const [vendor] = await tx
      .insert(vendors)
      .values({
        companyId,
        name: 'Paper & Pens Ltd',
        vatNumber: 'GB123456789',
        endpointId: '0088:5790000435951',
        email: 'billing@paperpens.example',
      })
      .returning();
    if (opts.directory) await seedDirectory(tx, companyId, slug, userIds, tokens);
    return {
      companyId,
      users: userIds,
      tokens,
      vendorId: vendor!.id,
      codingTemplateId: coding!.id,
      flowTemplateId: flow!.id,
      created: true,
    };
  });
}

/**
 * The demo directory, idempotently: rows that exist are left as they are, and a group's members
 * are only set when the group is created, so an admin's later changes survive a restart.
 */
async function seedDirectory(tx: Tx, companyId: string, slug: string, userIds: Record<string, string>, tokens: Record<string, string>) {
  for (const p of DIRECTORY.people) {
    const id = userIds[p.name]!;
    await tx
      .insert(users)
      .values({
        id,
        companyId,
        name: p.name.charAt(0).toUpperCase() + p.name.slice(1),
        email: `${p.name}@${slug}.example`,
        roles: p.roles,
        confidential: p.confidential,
      })
      .onConflictDoNothing();
    await tx
      .insert(apiTokens)
      .values({ userId: id, tokenHash: hashToken(tokens[p.name]!), label: 'demo' })
      .onConflictDoNothing();
  }
  for (const g of DIRECTORY.groups) {
    const [created] = await tx.insert(groups).values({ companyId, id: g.id, name: g.name }).onConflictDoNothing().returning();
    if (!created) continue;
    await tx
      .update(users)
      .set({ groups: sql`array_append(${users.groups}, ${g.id})` })
      .where(
        and(
          inArray(
            users.id,
            g.members.map((m) => userIds[m]!),
          ),
          sql`not (${users.groups} @> array[${g.id}]::text[])`,
        ),
      );
  }
  await tx
    .insert(costCentres)
    .values(DIRECTORY.costCentres.map((c) => ({ companyId, code: c.code, name: c.name, ownerId: userIds[c.owner]! })))
    .onConflictDoNothing();
}

/**
 * A second company, `<home>-partner`, in an environment of its own (`partner-env` for the demo)
 * that is partnered with the home company's, so a task can be delegated to `<home>-partner.dave`.
 * Idempotent.
 */
export async function seedPartner(db: Db, home = 'demo', environment = 'partner-env'): Promise<SeededCompany> {
  const slug = `${home}-partner`;
  const partner = await seedCompany(db, slug, { environment, name: home === 'demo' ? 'Demo Partner Company' : `Partner of ${home}` });
  const [homeCompany] = await db.select({ environment: companies.environment }).from(companies).where(eq(companies.slug, home));
  if (!homeCompany) throw new Error(`seed the company ${home} before its partner`);
  const [a, b] = [homeCompany.environment, environment].sort() as [string, string];
  await db.insert(partnerships).values({ environmentA: a, environmentB: b }).onConflictDoNothing();
  return partner;
}
