/**
 * The automatic review's I/O: the invoice, its coding, the rule versions in force for its company
 * and environment, and its obligation, read and written in one transaction; the rules themselves
 * are judged by the pure domain/review.ts. The obligation's invoiced total grows by this invoice's
 * gross once (a match row per invoice, as agreements do), and shrinks again when it is given back.
 */
import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/client';
import { lockInvoice } from '../db/locks';
import {
  codingRows,
  companies,
  invoiceReviews,
  invoices,
  obligationMatches,
  obligations,
  reviewRules,
  reviewRuleVersions,
  settings,
  vendors,
} from '../db/schema';
import { format, money, minus } from '../domain/money';
import { reviewInvoice as judge, type ObligationFacts, type ReviewResult, type ReviewRuleVersion } from '../domain/review';
import type { ReviewFacts } from '../workflows/process/state';
import { audit } from './audit';
import { activity, invoiceNotFound } from './failures';

type Invoice = typeof invoices.$inferSelect;

/** The rule versions in force for a company: its own active rules and those of its environment. */
export async function rulesInForce(db: Db | Tx, companyId: string, environment: string): Promise<ReviewRuleVersion[]> {
  const rows = await db
    .select({ rule: reviewRules, v: reviewRuleVersions })
    .from(reviewRules)
    .innerJoin(reviewRuleVersions, and(eq(reviewRuleVersions.ruleId, reviewRules.id), eq(reviewRuleVersions.version, reviewRules.version)))
    .where(
      and(
        eq(reviewRules.active, true),
        or(
          and(eq(reviewRules.scope, 'company'), eq(reviewRules.companyId, companyId)),
          and(eq(reviewRules.scope, 'environment'), eq(reviewRules.environment, environment)),
        ),
      ),
    )
    .orderBy(asc(reviewRules.id));
  return rows.map(({ rule, v }) => ({
    id: rule.id,
    version: v.version,
    name: v.name,
    message: v.message,
    applicability: v.applicability,
    conditions: v.conditions,
  }));
}

/**
 * The obligation an invoice's order reference names (locked: concurrent invoices of one obligation
 * are judged one after another), counting this invoice's gross in its total once.
 */
async function claimObligation(tx: Tx, invoice: Invoice): Promise<{ facts?: ObligationFacts; holds: boolean }> {
  const orderNumber = invoice.orderReference?.trim();
  if (!orderNumber) return { holds: false };
  const [obligation] = await tx
    .select()
    .from(obligations)
    .where(
      and(
        eq(obligations.companyId, invoice.companyId),
        eq(obligations.vendorId, invoice.vendorId),
        eq(obligations.orderNumber, orderNumber),
        eq(obligations.active, true),
      ),
    )
    .for('update');
  if (!obligation) return { facts: { orderNumber }, holds: false };
  const [earlier] = await tx.select().from(obligationMatches).where(eq(obligationMatches.invoiceId, invoice.id));
  let total = obligation.invoicedTotal;
  const c = obligation.currency;
  const sameCurrency = c === invoice.currency;
  if (sameCurrency && !(earlier?.counted && earlier.obligationId === obligation.id)) {
    if (earlier) {
      await tx
        .update(obligationMatches)
        .set({ obligationId: obligation.id, gross: invoice.gross, counted: true })
        .where(eq(obligationMatches.invoiceId, invoice.id));
    } else {
      await tx.insert(obligationMatches).values({ invoiceId: invoice.id, obligationId: obligation.id, gross: invoice.gross });
    }
    const [updated] = await tx
      .update(obligations)
      .set({ invoicedTotal: sql`${obligations.invoicedTotal} + ${invoice.gross}::numeric` })
      .where(eq(obligations.id, obligation.id))
      .returning({ invoicedTotal: obligations.invoicedTotal });
    total = updated!.invoicedTotal;
  }
  // What the other invoices have taken: the total without this invoice's gross.
  const before = sameCurrency ? format(minus(money(total, c), money(invoice.gross, c))) : total;
  return {
    facts: {
      orderNumber,
      obligation: {
        id: obligation.id,
        amount: obligation.amount,
        currency: c,
        tolerancePercent: obligation.tolerancePercent,
        toleranceAmount: obligation.toleranceAmount,
        invoicedBefore: before,
      },
    },
    holds: sameCurrency,
  };
}

export function reviewActivities({ db, clock }: { db: Db; clock: () => Date }) {
  const review = reviewIn({ clock });
  return {
    /**
     * Reviews an invoice (or records a review by hand), stores the result and audits it; answers
     * what the workflow acts on, with the company's authorization options. An invoice marked
     * correct by hand is not reviewed automatically any more.
     */
    reviewInvoice: activity(
      z.strictObject({
        invoiceId: z.uuid(),
        trigger: z.enum(['intake', 'coding', 'request', 'override']),
        by: z.string().min(1).max(200),
        comment: z.string().max(2000).optional(),
      }),
      async ({ invoiceId, trigger, by, comment }): Promise<ReviewFacts> => {
        return db.transaction(async (tx) => {
          await lockInvoice(tx, invoiceId);
          return review(tx, { invoiceId, trigger, by, ...(comment !== undefined ? { comment } : {}) });
        });
      },
    ),

    /** Gives a rejected or cancelled invoice's share of its obligation back (once). */
    releaseObligation: activity(z.strictObject({ invoiceId: z.uuid() }), async ({ invoiceId }): Promise<{ released: boolean }> => {
      return db.transaction((tx) => releaseObligationIn(tx, { invoiceId }));
    }),
  };
}

/** What a review is asked for: the activity's input. */
export interface ReviewRequest {
  invoiceId: string;
  trigger: 'intake' | 'coding' | 'request' | 'override';
  by: string;
  comment?: string;
}

/**
 * The review, in a transaction that holds the invoice's lock: the `reviewInvoice` activity's own,
 * or intake's when it takes the first step (lib/first-step.ts).
 */
export function reviewIn({ clock }: { clock: () => Date }) {
  return async (tx: Tx, { invoiceId, trigger, by, comment }: ReviewRequest): Promise<ReviewFacts> => {
    const [row] = await tx
      .select({ invoice: invoices, vendorName: vendors.name, environment: companies.environment })
      .from(invoices)
      .innerJoin(vendors, eq(vendors.id, invoices.vendorId))
      .innerJoin(companies, eq(companies.id, invoices.companyId))
      .where(eq(invoices.id, invoiceId));
    if (!row) throw invoiceNotFound(invoiceId);
    const { invoice } = row;
    const [options] = await tx.select().from(settings).where(eq(settings.companyId, invoice.companyId));
    const scheme = { autoReject: options?.autoRejectIncorrect ?? false, autoReauthorize: options?.autoReauthorize ?? false };
    const [previous] = await tx.select().from(invoiceReviews).where(eq(invoiceReviews.invoiceId, invoiceId));
    const claimed = await claimObligation(tx, invoice);
    if (previous?.status === 'manually_correct' && trigger !== 'override') {
      return { status: 'manually_correct', failed: [], ...scheme, holdsObligation: claimed.holds };
    }
    let status: ReviewFacts['status'];
    let result: Omit<ReviewResult, 'status'>;
    if (trigger === 'override') {
      status = 'manually_correct';
      result = { rows: {}, fields: {}, ruleVersions: [], failed: [] };
    } else {
      const rows = await tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoiceId)).orderBy(asc(codingRows.rowNo));
      const rules = await rulesInForce(tx, invoice.companyId, row.environment);
      const judged = judge({ ...invoice, vendorName: row.vendorName }, rows, rules, claimed.facts);
      ({ status } = judged);
      result = { rows: judged.rows, fields: judged.fields, ruleVersions: judged.ruleVersions, failed: judged.failed };
    }
    const values = { status, result, reviewedBy: by, trigger, comment: comment ?? null, reviewedAt: clock() };
    await tx
      .insert(invoiceReviews)
      .values({ invoiceId, ...values })
      .onConflictDoUpdate({ target: invoiceReviews.invoiceId, set: values });
    const findings = result.failed.map((f) => `${f.name}: ${f.message}`);
    await audit(tx, {
      companyId: invoice.companyId,
      invoiceId,
      actor: by,
      kind: trigger === 'override' ? 'review_override' : 'review',
      message:
        trigger === 'override'
          ? `Review changed by hand to correct: ${comment ?? ''}`
          : `Reviewed ${status}${findings.length > 0 ? `: ${findings.join('; ')}` : ''} (rules ${result.ruleVersions.map((r) => `${r.id} v${r.version}`).join(', ') || 'none'})`,
      data: { trigger, status, ruleVersions: result.ruleVersions },
    });
    return { status, failed: findings, ...scheme, holdsObligation: claimed.holds };
  };
}

/** Gives the invoice's share of its obligation back, in the caller's transaction (once). */
export async function releaseObligationIn(tx: Tx, { invoiceId }: { invoiceId: string }): Promise<{ released: boolean }> {
  const [match] = await tx.select().from(obligationMatches).where(eq(obligationMatches.invoiceId, invoiceId)).for('update');
  if (!match?.counted) return { released: false };
  await tx.update(obligationMatches).set({ counted: false }).where(eq(obligationMatches.invoiceId, invoiceId));
  await tx
    .update(obligations)
    .set({ invoicedTotal: sql`${obligations.invoicedTotal} - ${match.gross}::numeric` })
    .where(inArray(obligations.id, [match.obligationId]));
  return { released: true };
}
