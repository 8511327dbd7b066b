/**
 * Posting sales invoices (SPEC 2.5, 2.6): each invoice one balanced journal entry (receivable
 * against revenue and tax) and its customer items made active, in the same transaction as the
 * invoice's state. Exactly-once is the database's: the entry's sales invoice id is unique and the
 * invoice row is locked, so a chunk retried after a crash finds its invoices posted and writes
 * nothing twice. The facts are checked once more here: what changed since the confirmation (a
 * customer moved to cash-sales-only terms) is refused with the reason, not posted.
 */
import { heartbeat } from '@temporalio/activity';
import { and, asc, count, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/client';
import {
  customerItems,
  customers,
  journalEntries,
  journalLines,
  products,
  salesInvoiceLines,
  salesInvoices,
  salesPostings,
  salesSerialNumbers,
  salesSettings,
  settings,
} from '../db/schema';
import type { JournalLineDraft } from '../domain/journal';
import { buildSalesJournal, salesBlockers, type Blocker, type BlockerCode, type PaymentInput } from '../domain/sales';
import { audit } from './audit';
import { activity } from './failures';

type SalesInvoice = typeof salesInvoices.$inferSelect;

/** Everything the blockers and the journal of some invoices need, read in one go. */
export interface SalesFacts {
  invoice: SalesInvoice;
  customer: typeof customers.$inferSelect;
  lines: (typeof salesInvoiceLines.$inferSelect & { product: typeof products.$inferSelect; serialNumbers: number })[];
  items: (typeof customerItems.$inferSelect)[];
  blockers: Blocker[];
}

export interface CompanySalesSettings {
  requireCustomerItemReview: boolean;
  revenueAccount: string;
  taxAccount: string;
  cashAccount: string;
  bankAccount: string;
  receivableAccount: string;
}

/** The company's sales settings (defaults until an admin changes them) and its receivable account. */
export async function companySalesSettings(db: Db | Tx, companyId: string): Promise<CompanySalesSettings> {
  const [[s], [p]] = await Promise.all([
    db.select().from(salesSettings).where(eq(salesSettings.companyId, companyId)),
    db.select({ receivableAccount: settings.receivableAccount }).from(settings).where(eq(settings.companyId, companyId)),
  ]);
  return {
    requireCustomerItemReview: s?.requireCustomerItemReview ?? false,
    revenueAccount: s?.revenueAccount ?? '3000',
    taxAccount: s?.taxAccount ?? '2610',
    cashAccount: s?.cashAccount ?? '1910',
    bankAccount: s?.bankAccount ?? '1930',
    receivableAccount: p?.receivableAccount ?? '1500',
  };
}

/**
 * The facts of these invoices of one company (all of them when `invoices` are given rows), with
 * their blockers. `postingId` is the run asking: its own hold is no blocker.
 */
export async function salesFacts(
  db: Db | Tx,
  invoices: readonly SalesInvoice[],
  config: CompanySalesSettings,
  postingId?: string,
): Promise<SalesFacts[]> {
  if (invoices.length === 0) return [];
  const ids = invoices.map((i) => i.id);
  const customerIds = [...new Set(invoices.map((i) => i.customerId))];
  const [lineRows, serials, items, customerRows] = await Promise.all([
    db
      .select({ line: salesInvoiceLines, product: products })
      .from(salesInvoiceLines)
      .innerJoin(products, eq(products.id, salesInvoiceLines.productId))
      .where(inArray(salesInvoiceLines.invoiceId, ids))
      .orderBy(asc(salesInvoiceLines.invoiceId), asc(salesInvoiceLines.lineNo)),
    db
      .select({ invoiceId: salesSerialNumbers.invoiceId, lineNo: salesSerialNumbers.lineNo, n: count() })
      .from(salesSerialNumbers)
      .where(inArray(salesSerialNumbers.invoiceId, ids))
      .groupBy(salesSerialNumbers.invoiceId, salesSerialNumbers.lineNo),
    db.select().from(customerItems).where(inArray(customerItems.salesInvoiceId, ids)),
    db.select().from(customers).where(inArray(customers.id, customerIds)),
  ]);
  const serialCount = new Map(serials.map((s) => [`${s.invoiceId}:${s.lineNo}`, s.n]));
  const customerOf = new Map(customerRows.map((c) => [c.id, c]));
  const linesOf = groupBy(lineRows, (r) => r.line.invoiceId);
  const itemsOf = groupBy(items, (i) => i.salesInvoiceId);
  return invoices.map((invoice) => {
    const customer = customerOf.get(invoice.customerId)!;
    const lines = (linesOf.get(invoice.id) ?? []).map((r) => ({
      ...r.line,
      product: r.product,
      serialNumbers: serialCount.get(`${invoice.id}:${r.line.lineNo}`) ?? 0,
    }));
    const invoiceItems = itemsOf.get(invoice.id) ?? [];
    const itemByLine = new Map(invoiceItems.map((i) => [i.lineNo, i]));
    const blockers = salesBlockers({
      state: invoice.state,
      heldByPosting: invoice.postingId !== null && invoice.postingId !== postingId,
      paymentTerms: customer.paymentTerms,
      customerName: customer.name,
      requireCustomerItemReview: config.requireCustomerItemReview,
      lines: lines.map((l) => {
        const item = itemByLine.get(l.lineNo);
        return {
          lineNo: l.lineNo,
          description: l.description,
          quantity: l.quantity,
          requiresSerialNumbers: l.product.requiresSerialNumbers,
          serialNumbers: l.serialNumbers,
          ...(item ? { customerItem: { reviewed: item.reviewedAt !== null } } : {}),
        };
      }),
    });
    return { invoice, customer, lines, items: invoiceItems, blockers };
  });
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/** The journal of one invoice, with its payment for post and pay. */
export function journalOf(f: SalesFacts, config: CompanySalesSettings, payment?: PaymentInput): JournalLineDraft[] {
  return buildSalesJournal(
    {
      currency: f.invoice.currency,
      net: f.invoice.net,
      tax: f.invoice.tax,
      gross: f.invoice.gross,
      invoiceNumber: f.invoice.invoiceNumber,
      customerName: f.customer.name,
      receivableAccount: f.customer.receivableAccount ?? config.receivableAccount,
      taxAccount: config.taxAccount,
      lines: f.lines.map((l) => ({
        revenueAccount: l.product.revenueAccount ?? config.revenueAccount,
        net: l.net,
        taxRate: l.taxRate,
        tax: l.tax,
      })),
    },
    payment,
  );
}

export interface PostOutcome {
  /** Posted now, or earlier by the same run (a retried chunk). */
  posted: string[];
  refused: { id: string; reasons: string[] }[];
  /** Customer items made active by the posted invoices. */
  customerItems: number;
  journalEntryIds: Record<string, string>;
}

/**
 * Posts invoices inside `tx`: locks them, checks them once more, writes one journal entry each
 * (the unique sales invoice id refuses a second) and activates their customer items. `postingId`
 * is the run that holds them (null for post and pay); `allow` lists blockers the caller has dealt
 * with (post and pay takes the payment of a cash-sales-only invoice).
 */
export async function postSalesInvoices(
  tx: Tx,
  opts: {
    companyId?: string;
    invoiceIds: readonly string[];
    postingId: string | null;
    now: Date;
    allow?: readonly BlockerCode[];
    payment?: (f: SalesFacts, config: CompanySalesSettings) => PaymentInput;
  },
): Promise<PostOutcome> {
  const outcome: PostOutcome = { posted: [], refused: [], customerItems: 0, journalEntryIds: {} };
  if (opts.invoiceIds.length === 0) return outcome;
  // In id order, so two transactions over overlapping invoices never deadlock.
  const rows = await tx
    .select()
    .from(salesInvoices)
    .where(and(inArray(salesInvoices.id, [...opts.invoiceIds]), opts.companyId ? eq(salesInvoices.companyId, opts.companyId) : undefined))
    .orderBy(asc(salesInvoices.id))
    .for('update');
  const found = new Set(rows.map((r) => r.id));
  for (const id of opts.invoiceIds) if (!found.has(id)) outcome.refused.push({ id, reasons: ['This invoice does not exist'] });
  const byCompany = groupBy(rows, (r) => r.companyId);
  for (const [companyId, invoices] of byCompany) {
    const config = await companySalesSettings(tx, companyId);
    const mine = invoices.filter((i) => i.state === 'posted' && opts.postingId !== null && i.postingId === opts.postingId);
    if (mine.length > 0) {
      // A retried chunk: these were posted by this run before the crash; report them, write nothing.
      outcome.posted.push(...mine.map((i) => i.id));
      const [active] = await tx
        .select({ n: count() })
        .from(customerItems)
        .where(
          inArray(
            customerItems.salesInvoiceId,
            mine.map((i) => i.id),
          ),
        );
      outcome.customerItems += active?.n ?? 0;
    }
    const facts = await salesFacts(
      tx,
      invoices.filter((i) => !mine.includes(i)),
      config,
      opts.postingId ?? undefined,
    );
    const postable: { f: SalesFacts; lines: JournalLineDraft[] }[] = [];
    for (const f of facts) {
      const blockers = f.blockers.filter((b) => !opts.allow?.includes(b.code));
      if (blockers.length > 0) outcome.refused.push({ id: f.invoice.id, reasons: blockers.map((b) => b.message) });
      else postable.push({ f, lines: journalOf(f, config, opts.payment?.(f, config)) });
    }
    if (postable.length === 0) continue;
    const entries = await tx
      .insert(journalEntries)
      .values(
        postable.map(({ f }) => ({
          companyId,
          salesInvoiceId: f.invoice.id,
          currency: f.invoice.currency,
          description: `Sales invoice ${f.invoice.invoiceNumber} to ${f.customer.name}${opts.payment ? ', paid' : ''}`,
          postedAt: opts.now,
        })),
      )
      .onConflictDoNothing({ target: journalEntries.salesInvoiceId })
      .returning({ id: journalEntries.id, invoiceId: journalEntries.salesInvoiceId });
    const entryOf = new Map(entries.map((e) => [e.invoiceId!, e.id]));
    const written = postable.filter(({ f }) => entryOf.has(f.invoice.id));
    for (const { f } of postable) {
      if (!entryOf.has(f.invoice.id)) outcome.refused.push({ id: f.invoice.id, reasons: ['This invoice is already posted'] });
    }
    if (written.length === 0) continue;
    await tx
      .insert(journalLines)
      .values(written.flatMap(({ f, lines }) => lines.map((l, i) => ({ entryId: entryOf.get(f.invoice.id)!, lineNo: i + 1, ...l }))));
    const ids = written.map(({ f }) => f.invoice.id);
    await tx
      .update(salesInvoices)
      .set({ state: 'posted', postedAt: opts.now, postingId: opts.postingId })
      .where(inArray(salesInvoices.id, ids));
    const activated = await tx
      .update(customerItems)
      .set({ state: 'active', activatedAt: opts.now })
      .where(and(inArray(customerItems.salesInvoiceId, ids), eq(customerItems.state, 'pending')))
      .returning({ id: customerItems.id });
    outcome.customerItems += activated.length;
    outcome.posted.push(...ids);
    for (const id of ids) outcome.journalEntryIds[id] = entryOf.get(id)!;
  }
  // A refused invoice is released: it is no longer held by the run.
  const refusedIds = outcome.refused.map((r) => r.id).filter((id) => found.has(id));
  if (opts.postingId && refusedIds.length > 0) {
    await tx
      .update(salesInvoices)
      .set({ postingId: null })
      .where(and(inArray(salesInvoices.id, refusedIds), eq(salesInvoices.postingId, opts.postingId), eq(salesInvoices.state, 'unposted')));
  }
  return outcome;
}

/** The activities of the sales posting workflow. */
export function salesPostingActivities({ db, clock }: { db: Db; clock: () => Date }) {
  return {
    postSalesChunk: activity(
      z.strictObject({ postingId: z.string().min(1).max(200), invoiceIds: z.array(z.uuid()).max(1000) }),
      async ({ postingId, invoiceIds }): Promise<Omit<PostOutcome, 'journalEntryIds'>> => {
        heartbeat();
        const [posting] = await db
          .select({ companyId: salesPostings.companyId })
          .from(salesPostings)
          .where(eq(salesPostings.id, postingId));
        const outcome = await db.transaction((tx) =>
          postSalesInvoices(tx, { invoiceIds, postingId, now: clock(), ...(posting ? { companyId: posting.companyId } : {}) }),
        );
        return { posted: outcome.posted, refused: outcome.refused, customerItems: outcome.customerItems };
      },
    ),
    finishSalesPosting: activity(
      z.strictObject({
        postingId: z.string().min(1).max(200),
        cancelled: z.boolean(),
        refused: z.array(z.strictObject({ id: z.uuid(), reasons: z.array(z.string()) })),
      }),
      async ({ postingId, cancelled, refused }): Promise<{ state: 'completed' | 'cancelled' }> => {
        return db.transaction(async (tx) => {
          const [posting] = await tx.select().from(salesPostings).where(eq(salesPostings.id, postingId)).for('update');
          if (!posting) return { state: cancelled ? 'cancelled' : 'completed' };
          if (posting.state !== 'running') return { state: posting.state };
          const state = cancelled ? 'cancelled' : 'completed';
          // What the run did not post is released for another posting.
          await tx
            .update(salesInvoices)
            .set({ postingId: null })
            .where(and(eq(salesInvoices.postingId, postingId), eq(salesInvoices.state, 'unposted')));
          const postedRows = await tx
            .select({ id: salesInvoices.id })
            .from(salesInvoices)
            .where(and(eq(salesInvoices.postingId, postingId), eq(salesInvoices.state, 'posted')));
          const posted = new Set(postedRows.map((r) => r.id));
          const [items] = await tx
            .select({ n: count() })
            .from(customerItems)
            .innerJoin(salesInvoices, eq(salesInvoices.id, customerItems.salesInvoiceId))
            .where(and(eq(salesInvoices.postingId, postingId), eq(salesInvoices.state, 'posted')));
          const explained = new Set(refused.map((r) => r.id));
          const notRun = posting.invoiceIds
            .filter((id) => !posted.has(id) && !explained.has(id))
            .map((id) => ({ id, reasons: ['Not posted: the posting was cancelled before its turn came'] }));
          await tx
            .update(salesPostings)
            .set({ state, posted: posted.size, customerItems: items?.n ?? 0, refused: [...refused, ...notRun], finishedAt: clock() })
            .where(eq(salesPostings.id, postingId));
          await audit(tx, {
            companyId: posting.companyId,
            actor: 'system',
            kind: 'sales_posting_finished',
            message: `Sales posting ${postingId} ${state}: ${posted.size} of ${posting.invoiceIds.length} invoices posted`,
            data: { postingId, posted: posted.size, notPosted: posting.invoiceIds.length - posted.size },
            eventKey: `${postingId}:finished`,
          });
          return { state };
        });
      },
    ),
  };
}
