import { eq } from 'drizzle-orm';
import { hashToken } from '../lib/tokens';
import type { Db } from './client';
import { apiTokens, approvalLimits, codingTemplates, companies, flowTemplates, settings, users, vendors, type Role } from './schema';

const PEOPLE: { name: string; roles: Role[]; limit?: { currency: string; amount: string | null }; confidential?: boolean }[] = [
  { name: 'alice', roles: ['clerk'] },
  { name: 'bob', roles: ['reviewer'] },
  { name: 'carol', roles: ['approver'], limit: { currency: '*', amount: '10000.00' } },
  { name: 'dave', roles: ['approver'], limit: { currency: '*', amount: null } },
  { name: 'erin', roles: ['admin'], confidential: true },
];

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
 * carol or dave. Idempotent: a second call returns the existing company. Tests call it with their
 * own slug so each test file gets a company of its own.
 */
export async function seedCompany(db: Db, slug = 'demo'): Promise<SeededCompany> {
  const tokens = Object.fromEntries(PEOPLE.map((p) => [p.name, `${slug}-${p.name}`]));
  const userIds = Object.fromEntries(PEOPLE.map((p) => [p.name, `${slug}.${p.name}`]));
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(companies).where(eq(companies.slug, slug));
    if (existing) {
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
      .values({ slug, name: slug === 'demo' ? 'Demo Company' : `Company ${slug}`, environment: slug })
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
