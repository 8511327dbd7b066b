/**
 * What the workflow learns about an invoice before routing it: its coding (the template applied
 * once), whether it is an agreement invoice (decided once, its cumulative total grown once), and
 * its route (the flow template as it stands now).
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/client';
import { lockInvoice } from '../db/locks';
import { agreementMatches, agreements, codingRows, codingTemplates, flowTemplates, invoices, vendors } from '../db/schema';
import { matchAgreement } from '../domain/agreements';
import { applyCodingTemplate, type CodingRowDraft } from '../domain/coding';
import { durationMs } from '../domain/flow';
import { format, MoneyError, money, sameAmount, sum } from '../domain/money';
import { approvalRights, requiredApprovalsFor, type RoutingInvoice } from '../domain/routing/assign';
import type { Preparation, Route } from '../workflows/process';
import type { AgreementFacts } from '../workflows/process/state';
import { audit } from './audit';
import { loadRules, loadUser } from './directory';
import { activity, invoiceNotFound } from './failures';
import { applyStartRules, type StartRuleDeps } from './start-rules';

type Invoice = typeof invoices.$inferSelect;
type Agreement = typeof agreements.$inferSelect;
type CodingRow = typeof codingRows.$inferSelect;
type CodingTemplate = typeof codingTemplates.$inferSelect;

export function routingActivities({ db, clock, mailFrom, replyAddressing }: { db: Db } & StartRuleDeps) {
  const prepare = preparationIn({ clock, mailFrom, replyAddressing });
  return {
    /**
     * Applies the coding template (once: a retry finds the rows already there), decides whether
     * the invoice is an agreement invoice (once, with a valid signature), and loads its route.
     */
    prepareRouting: activity(z.strictObject({ invoiceId: z.uuid() }), async ({ invoiceId }): Promise<Preparation> => {
      return db.transaction(async (tx) => {
        await lockInvoice(tx, invoiceId); // waits for intake's transaction to end
        return prepare(tx, { invoiceId });
      });
    }),

    /** The invoice's route as the flow template says now (registration and restart take it). */
    loadRoute: activity(z.strictObject({ invoiceId: z.uuid() }), async ({ invoiceId }): Promise<Route> => {
      // The invoice, its agreement's flow template and its vendor's, in one read.
      const [found] = await db
        .select({ invoice: invoices, agreementFlowId: agreements.flowTemplateId, vendorFlowId: vendors.flowTemplateId })
        .from(invoices)
        .leftJoin(agreementMatches, eq(agreementMatches.invoiceId, invoices.id))
        .leftJoin(agreements, eq(agreements.id, agreementMatches.agreementId))
        .leftJoin(vendors, eq(vendors.id, invoices.vendorId))
        .where(eq(invoices.id, invoiceId));
      if (!found) throw invoiceNotFound(invoiceId);
      return routeOf(db, found.invoice, found.agreementFlowId, { vendorTemplateId: found.vendorFlowId });
    }),
  };
}

/**
 * The preparation, in a transaction that holds the invoice's lock: the `prepareRouting` activity's
 * own, or intake's when it takes the first step (lib/first-step.ts).
 */
export function preparationIn(deps: StartRuleDeps) {
  return async (tx: Tx, { invoiceId }: { invoiceId: string }): Promise<Preparation> => {
    const invoice = await invoiceOf(tx, invoiceId);
    const { rows, agreement, codingProblem } = await codeInvoice(tx, invoice, deps.clock);
    const route = agreement && agreement.flowTemplateId === null ? { steps: [] } : await routeOf(tx, invoice, agreement?.flowTemplateId);
    const start = await applyStartRules(tx, invoice, deps);
    return {
      invoice: routingInvoiceOf(invoice),
      rows: rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        dimensions: r.dimensions,
        ...(r.approvedBy ? { approvedBy: r.approvedBy } : {}),
        ...(r.approvedBy && agreement ? { agreementId: agreement.id } : {}),
      })),
      route,
      ...(agreement ? { agreement: agreementFacts(agreement) } : {}),
      ...(codingProblem ? { codingProblem } : {}),
      ...(start ? { start } : {}),
    };
  };
}

async function invoiceOf(db: Db | Tx, invoiceId: string): Promise<Invoice> {
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
  if (!invoice) throw invoiceNotFound(invoiceId);
  return invoice;
}

/** What routing needs to know of a matched agreement. */
export function agreementFacts(agreement: Agreement): AgreementFacts {
  return { id: agreement.id, touchless: agreement.flowTemplateId === null, ...(agreement.stage ? { stage: agreement.stage } : {}) };
}

export function routingInvoiceOf(invoice: Invoice): RoutingInvoice {
  return {
    companyId: invoice.companyId,
    currency: invoice.currency,
    gross: invoice.gross,
    confidential: invoice.confidential,
    ...(invoice.createdBy ? { registeredBy: invoice.createdBy } : {}),
  };
}

/**
 * The flow template for the invoice: the agreement's, else the vendor's, else the company
 * default. A route nobody could be paid on (none at all, or no approval step) carries the
 * problem, and registration refuses it with that reason.
 */
export async function routeOf(db: Db | Tx, invoice: Invoice, agreementFlowId?: string | null, known?: KnownVendorTemplate): Promise<Route> {
  const template = await templateFor(db, flowTemplates, invoice, agreementFlowId ?? undefined, known);
  if (!template) {
    return {
      steps: [],
      problem:
        'No flow template applies: the vendor has none and the company has no default; an admin must set one up before it can be registered',
    };
  }
  const steps = template.steps.map((step) => {
    const reminderAfterMs = durationMs(step.reminderAfter);
    const escalateAfterMs = durationMs(step.escalateAfter);
    return {
      kind: step.kind,
      mode: step.mode,
      assignees: step.assignees,
      ...(reminderAfterMs !== undefined ? { reminderAfterMs } : {}),
      ...(escalateAfterMs !== undefined ? { escalateAfterMs } : {}),
      ...(step.escalateTo ? { escalateTo: step.escalateTo } : {}),
    };
  });
  const route: Route = { flowTemplateId: template.id, name: template.name, steps };
  if (!steps.some((s) => s.kind === 'approval')) {
    route.problem = `The flow template "${template.name}" has no approval step, and an invoice is never paid without approval; an admin must add one`;
  }
  return route;
}

type TemplateTable = typeof codingTemplates | typeof flowTemplates;

/** The vendor's template id (of the table asked for) when its caller has read it already. */
interface KnownVendorTemplate {
  vendorTemplateId: string | null;
}

/**
 * The coding or flow template an invoice uses: its agreement's when it matched one (`null`: the
 * agreement names none, so the company default), else its vendor's, else the company default.
 * An inactive coding template is applied to nothing new: a vendor's falls back to the default.
 */
export async function templateFor<T extends TemplateTable>(
  db: Db | Tx,
  table: T,
  invoice: Invoice,
  agreementTemplateId: string | null | undefined,
  known?: KnownVendorTemplate,
): Promise<T['$inferSelect'] | undefined> {
  if (agreementTemplateId !== undefined) return pickTemplate(db, table, invoice.companyId, agreementTemplateId);
  const column = (table as TemplateTable) === codingTemplates ? vendors.codingTemplateId : vendors.flowTemplateId;
  const vendorTemplateId = known
    ? known.vendorTemplateId
    : (await db.select({ templateId: column }).from(vendors).where(eq(vendors.id, invoice.vendorId)))[0]?.templateId;
  const vendorsOwn = vendorTemplateId ? await pickTemplate(db, table, invoice.companyId, vendorTemplateId) : undefined;
  return vendorsOwn ?? pickTemplate(db, table, invoice.companyId, null);
}

/**
 * The given template of the company when an id is given, else the company default; never an
 * inactive coding template (flow templates have no active flag).
 */
export async function pickTemplate<T extends TemplateTable>(
  db: Db | Tx,
  table: T,
  companyId: string,
  templateId: string | null,
): Promise<T['$inferSelect'] | undefined> {
  const t = table as TemplateTable;
  const where = and(
    eq(t.companyId, companyId),
    templateId ? eq(t.id, templateId) : eq(t.isDefault, true),
    t === codingTemplates ? eq(codingTemplates.active, true) : undefined,
  );
  const [template] = await db.select().from(t).where(where).limit(1);
  return template as T['$inferSelect'] | undefined;
}

/**
 * The invoice's coding rows, applying the agreement's or the vendor's (or the default) coding
 * template the first time, and its agreement decided once. Shared with the v1 activity.
 */
export async function codeInvoice(
  tx: Tx,
  invoice: Invoice,
  clock: () => Date,
): Promise<{ rows: CodingRow[]; agreement: Agreement | undefined; codingProblem: string | undefined }> {
  const rowsOf = () => tx.select().from(codingRows).where(eq(codingRows.invoiceId, invoice.id)).orderBy(asc(codingRows.rowNo));
  let rows = await rowsOf();
  const matched = await matchAgreementOnce(tx, invoice, rows.length === 0);
  const agreement = matched?.agreement;
  if (rows.length === 0) {
    // The agreement's coding template was read (and found active) to judge the match: not read again.
    const known = matched?.codingTemplate?.companyId === invoice.companyId ? matched.codingTemplate : undefined;
    const template = known ?? (await templateFor(tx, codingTemplates, invoice, agreement?.codingTemplateId));
    const drafts = template ? draftsOf(template, invoice) : undefined;
    if (template && drafts) {
      const inserted = await tx
        .insert(codingRows)
        .values(
          drafts.map((d) => ({
            invoiceId: invoice.id,
            rowNo: d.rowNo,
            kind: d.kind,
            account: d.account,
            dimensions: d.dimensions,
            taxCode: d.taxCode ?? null,
            amount: d.amount,
            // An agreement's approval signature goes on every row.
            ...(agreement?.approvalUserId ? { approvedBy: agreement.approvalUserId, approvedAt: clock() } : {}),
          })),
        )
        .onConflictDoNothing()
        .returning();
      // Under the invoice lock with no rows before, every draft goes in; should a row have come
      // from elsewhere meanwhile, the stored rows are read instead.
      rows = inserted.length === drafts.length ? inserted.sort((a, b) => a.rowNo - b.rowNo) : await rowsOf();
      await audit(tx, {
        companyId: invoice.companyId,
        invoiceId: invoice.id,
        actor: 'system',
        kind: 'coding',
        message: `Coding template "${template.name}" applied: ${drafts.length} rows`,
        eventKey: `${invoice.workflowId}:coding`,
      });
    }
  }
  return { rows, agreement, codingProblem: codingProblemOf(rows, invoice) };
}

function draftsOf(template: CodingTemplate, invoice: Invoice): CodingRowDraft[] | undefined {
  try {
    return applyCodingTemplate(template, invoice);
  } catch (err) {
    if (err instanceof MoneyError) return undefined;
    throw err;
  }
}

function codingProblemOf(rows: readonly CodingRow[], invoice: Invoice): string | undefined {
  if (rows.length === 0) return 'The invoice has no coding rows and no coding template applies; code it first';
  const coded = sum(
    rows.map((r) => money(r.amount, invoice.currency)),
    invoice.currency,
  );
  if (!sameAmount(coded, money(invoice.gross, invoice.currency))) {
    return `The coding rows add up to ${format(coded)} but the gross amount is ${invoice.gross} ${invoice.currency}`;
  }
  return undefined;
}

/**
 * Decides once per invoice whether it is an agreement invoice, and if so adds its gross to the
 * agreement's cumulative total in the same transaction. The agreement rows of the vendor are
 * locked, so concurrent invoices of one agreement are judged one after the other; the match row
 * (primary key: the invoice) makes a retry find the earlier decision instead of counting twice.
 * A definition whose approval user may not sign this invoice does not match: the invoice stays
 * manual, with the reason in the audit trail.
 */
async function matchAgreementOnce(
  tx: Tx,
  invoice: Invoice,
  firstTime: boolean,
): Promise<{ agreement: Agreement; codingTemplate?: CodingTemplate } | undefined> {
  const [earlier] = await tx.select().from(agreementMatches).where(eq(agreementMatches.invoiceId, invoice.id));
  if (earlier) {
    const [agreement] = await tx.select().from(agreements).where(eq(agreements.id, earlier.agreementId));
    return agreement ? { agreement } : undefined;
  }
  if (!firstTime || invoice.documentType !== 'invoice') return undefined;
  let definitions = await tx
    .select()
    .from(agreements)
    .where(and(eq(agreements.companyId, invoice.companyId), eq(agreements.vendorId, invoice.vendorId), eq(agreements.active, true)))
    .orderBy(asc(agreements.id))
    .for('update');
  if (definitions.length === 0) return undefined;
  const matched = await tx
    .select({ agreementId: agreementMatches.agreementId, invoiceDate: agreementMatches.invoiceDate })
    .from(agreementMatches)
    .where(
      inArray(
        agreementMatches.agreementId,
        definitions.map((d) => d.id),
      ),
    );
  const dates: Record<string, string[]> = {};
  for (const m of matched) (dates[m.agreementId] ??= []).push(m.invoiceDate);
  const misses: { agreementId: string; criterion: string; message: string }[] = [];
  let match: Agreement | undefined;
  let codingTemplate: CodingTemplate | undefined;
  for (;;) {
    const outcome = matchAgreement(definitions, invoice, dates);
    if (misses.length === 0) misses.push(...outcome.nearMisses);
    const best = outcome.match ? definitions.find((d) => d.id === outcome.match!.id) : undefined;
    if (!best) break;
    const { problem, template } = await applicationProblem(tx, best, invoice);
    if (!problem) {
      match = best;
      codingTemplate = template;
      break;
    }
    misses.push({ agreementId: best.id, ...problem });
    definitions = definitions.filter((d) => d.id !== best.id);
  }
  for (const miss of misses) {
    await audit(tx, {
      companyId: invoice.companyId,
      invoiceId: invoice.id,
      actor: 'system',
      kind: 'agreement_miss',
      message: `Agreement ${miss.agreementId} not applied (${miss.criterion}): ${miss.message}`,
      data: { agreementId: miss.agreementId, criterion: miss.criterion },
      eventKey: `${invoice.workflowId}:agreement-miss:${miss.agreementId}`,
    });
  }
  if (!match) return undefined;
  await tx
    .insert(agreementMatches)
    .values({ invoiceId: invoice.id, agreementId: match.id, invoiceDate: invoice.invoiceDate, gross: invoice.gross });
  await tx
    .update(agreements)
    .set({ cumulativeTotal: sql`${agreements.cumulativeTotal} + ${invoice.gross}::numeric` })
    .where(eq(agreements.id, match.id));
  await audit(tx, {
    companyId: invoice.companyId,
    invoiceId: invoice.id,
    actor: 'system',
    kind: 'agreement_matched',
    message: `Agreement invoice: matched agreement ${match.id}; ${invoice.gross} ${invoice.currency} added to its cumulative total ${match.cumulativeTotal}`,
    data: { agreementId: match.id },
    eventKey: `${invoice.workflowId}:agreement`,
  });
  return { agreement: match, ...(codingTemplate ? { codingTemplate } : {}) };
}

/**
 * Why a definition that matches the invoice may not be applied to it now, as a near miss (no
 * problem: it applies), with its coding template as read.
 */
async function applicationProblem(
  tx: Tx,
  agreement: Agreement,
  invoice: Invoice,
): Promise<{ problem?: { criterion: string; message: string }; template?: CodingTemplate }> {
  const [template] = await tx.select().from(codingTemplates).where(eq(codingTemplates.id, agreement.codingTemplateId));
  if (!template?.active) {
    return {
      problem: { criterion: 'coding_template', message: `its coding template${template ? ` "${template.name}"` : ''} is inactive` },
    };
  }
  const signer = await signerProblem(tx, agreement, invoice, template);
  return signer ? { problem: { criterion: 'approval_user', message: signer }, template } : { template };
}

/**
 * Why the agreement's approval user may not sign this invoice now, or undefined: an active
 * approver of the company whose limit covers the gross and whose cost centres cover every row of
 * the agreement's coding, who did not submit the invoice; and, with no flow template to collect a
 * second signature, an invoice that needs only one.
 */
async function signerProblem(tx: Tx, agreement: Agreement, invoice: Invoice, template: CodingTemplate): Promise<string | undefined> {
  if (!agreement.approvalUserId) return undefined;
  const signer = agreement.approvalUserId;
  const user = await loadUser(tx, signer);
  if (!user || !user.active || user.companyId !== invoice.companyId)
    return `its approval user ${signer} is not an active user of this company`;
  const routing = routingInvoiceOf(invoice);
  if (routing.registeredBy === signer) return `its approval user ${signer} submitted this invoice (segregation of duties)`;
  if (invoice.confidential && !user.confidential) return `its approval user ${signer} is not cleared for confidential invoices`;
  const drafts = draftsOf(template, invoice);
  if (!drafts) return 'its coding template cannot be applied to this invoice';
  const rows = drafts.map((d) => ({ id: String(d.rowNo), dimensions: d.dimensions, approvers: [] }));
  const rights = approvalRights(user, routing, rows);
  if (rights.length < rows.length) {
    return `its approval user ${signer} may not approve it (the approver role, a limit covering ${invoice.gross} ${invoice.currency}, and the cost centres of every row)`;
  }
  if (agreement.flowTemplateId === null && requiredApprovalsFor(invoice.gross, await loadRules(tx, invoice.companyId)) > 1) {
    return `${invoice.gross} ${invoice.currency} is above the two-approver threshold, and the agreement gives one signature with no flow to collect the second`;
  }
  return undefined;
}
