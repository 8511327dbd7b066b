/**
 * Start rules at the start of an invoice's workflow: the company's active rules in order, judged
 * on the incoming document (domain/start-rules.ts), every evaluation in the audit trail with the
 * rule's version, and a mail outcome queued in the outbox with the invoice's reply address.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { invoiceLines, invoices, mailOutbox, startRules, vendors } from '../db/schema';
import { durationMs } from '../domain/flow';
import { evaluateStartRules, renderTemplate, type IncomingDocument, type StartRule } from '../domain/start-rules';
import { replyAddressFor, type ReplyAddressing } from '../lib/reply-address';
import type { StartRuleOutcome } from '../workflows/process';
import { audit } from './audit';

type Invoice = typeof invoices.$inferSelect;

/** The incoming document as start rules see it: the invoice, its supplier party and its lines. */
async function documentOf(tx: Tx, invoice: Invoice): Promise<{ doc: IncomingDocument; vendor: typeof vendors.$inferSelect }> {
  const [vendor] = await tx.select().from(vendors).where(eq(vendors.id, invoice.vendorId));
  const lines = await tx.select({ description: invoiceLines.description }).from(invoiceLines).where(eq(invoiceLines.invoiceId, invoice.id));
  return {
    vendor: vendor!,
    doc: {
      invoiceNumber: invoice.invoiceNumber,
      documentType: invoice.documentType,
      currency: invoice.currency,
      net: invoice.net,
      tax: invoice.tax,
      gross: invoice.gross,
      invoiceDate: invoice.invoiceDate,
      dueDate: invoice.dueDate,
      buyerReference: invoice.buyerReference,
      orderReference: invoice.orderReference,
      contractReference: invoice.contractReference,
      vendorName: vendor!.name,
      vendorVatNumber: vendor!.vatNumber,
      supplierEndpoint: vendor!.endpointId,
      supplierEmail: vendor!.email,
      sourceFormat: invoice.sourceFormat,
      lineDescriptions: lines.map((l) => l.description),
    },
  };
}

export interface StartRuleDeps {
  clock: () => Date;
  mailFrom: string;
  replyAddressing: ReplyAddressing;
}

/**
 * Judges the start rules for a new invoice (once: the audit events and the mail are keyed by the
 * workflow, so a retry writes nothing twice) and answers the outcome the workflow acts on.
 */
export async function applyStartRules(tx: Tx, invoice: Invoice, deps: StartRuleDeps): Promise<StartRuleOutcome | undefined> {
  const rows = await tx
    .select()
    .from(startRules)
    .where(and(eq(startRules.companyId, invoice.companyId), eq(startRules.active, true)))
    .orderBy(asc(startRules.position), asc(startRules.createdAt));
  if (rows.length === 0) return undefined;
  const rules: StartRule[] = rows.map((r) => ({
    id: r.id,
    version: r.version,
    name: r.name,
    conditions: r.conditions,
    outcome: r.outcome,
  }));
  const { doc, vendor } = await documentOf(tx, invoice);
  const { match, evaluated } = evaluateStartRules(doc, rules);
  for (const e of evaluated) {
    await audit(tx, {
      companyId: invoice.companyId,
      invoiceId: invoice.id,
      actor: 'system',
      kind: 'start_rule',
      message: `Start rule "${e.name}" (version ${e.version}) ${e.matched ? 'applies' : 'does not apply'}: ${e.because}`,
      data: { ruleId: e.ruleId, version: e.version, matched: e.matched },
      eventKey: `${invoice.workflowId}:start-rule:${e.ruleId}`,
    });
  }
  if (!match) return undefined;
  const base = { ruleId: match.id, version: match.version, name: match.name };
  const o = match.outcome;
  if (o.kind === 'assign') return { ...base, outcome: { kind: 'assign', to: o.to } };
  if (o.kind === 'reject') return { ...base, outcome: { kind: 'reject', reason: o.reason } };
  const address = o.to === 'supplier' ? vendor.email : (o.address ?? null);
  const who = o.to === 'supplier' ? `the supplier (${address ?? 'no address'})` : `the department (${address})`;
  if (!address) {
    await audit(tx, {
      companyId: invoice.companyId,
      invoiceId: invoice.id,
      actor: 'system',
      kind: 'mail_not_sent',
      message: `Start rule "${match.name}" would write to the supplier, but the invoice names no supplier e-mail address`,
      eventKey: `${invoice.workflowId}:start-rule-mail`,
    });
    return undefined;
  }
  const { lineDescriptions, ...fields } = doc;
  const values = { ...fields, lineDescription: lineDescriptions.join('; '), vendorName: vendor.name };
  const subject = renderTemplate(o.subject, values)
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 250);
  const body = renderTemplate(o.body, values);
  const replyTo = replyAddressFor(invoice.id, deps.clock(), deps.replyAddressing);
  await tx
    .insert(mailOutbox)
    .values({
      companyId: invoice.companyId,
      invoiceId: invoice.id,
      key: `${invoice.workflowId}:start-rule-mail`,
      kind: o.to,
      toAddresses: [address],
      subject,
      body,
      replyTo,
    })
    .onConflictDoNothing({ target: mailOutbox.key });
  const awaitReplyMs = durationMs(o.awaitReply);
  return { ...base, outcome: { kind: 'mail', to: who, ...(awaitReplyMs !== undefined ? { awaitReplyMs } : {}) } };
}
