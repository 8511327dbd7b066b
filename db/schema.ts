/**
 * The system of record. Money columns are `numeric` holding the decimal strings of domain/money
 * (never floats); every business row carries its company.
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  customType,
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { FlowStepDefinition } from '../domain/flow';
import type { ReviewApplicability, ReviewCondition, ReviewResult } from '../domain/review';
import type { StartCondition, StartOutcome } from '../domain/start-rules';
import { PAYMENT_TERMS, POSTING_MODES, POSTING_RUN_STATES, SALES_INVOICE_STATES } from '../domain/sales-terms';
import { ROLES, STAGES, STEP_KINDS, TASK_MODES, type Role } from '../domain/stages';

export { ROLES, type Role };

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/**
 * Grows with every change made through the API (never with the system's own writes, such as an
 * agreement's cumulative total): the ETag `"v<version>"` that `If-Match` names (api/etag.ts).
 */
const version = () => integer('version').notNull().default(1);

export const companies = pgTable('companies', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  /** Companies of one environment share environment-level rules; partnerships link environments. */
  environment: text('environment').notNull().default('default'),
  createdAt: createdAt(),
});

/** Users of partnered environments may receive delegated tasks from each other (SPEC 1). */
export const partnerships = pgTable(
  'partnerships',
  {
    environmentA: text('environment_a').notNull(),
    environmentB: text('environment_b').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.environmentA, t.environmentB] }),
    check('partnerships_ordered', sql`${t.environmentA} < ${t.environmentB}`),
  ],
);

export const users = pgTable(
  'users',
  {
    /** Readable ids, because administrators type them into signals in the Temporal Web UI. */
    id: text('id').primaryKey(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    name: text('name').notNull(),
    email: text('email').notNull(),
    roles: text('roles')
      .array()
      .$type<Role[]>()
      .notNull()
      .default(sql`'{}'`),
    groups: text('groups')
      .array()
      .notNull()
      .default(sql`'{}'`),
    confidential: boolean('confidential').notNull().default(false),
    /** Cost centres the user may approve; empty means all. */
    costCentres: text('cost_centres')
      .array()
      .notNull()
      .default(sql`'{}'`),
    active: boolean('active').notNull().default(true),
    /** Absent in this period: tasks go to the substitute (when they may take them) instead. */
    absentFrom: timestamp('absent_from', { withTimezone: true }),
    absentUntil: timestamp('absent_until', { withTimezone: true }),
    substituteId: text('substitute_id'),
    /** When the open tasks were last moved for an absence that began (so each absence moves them once). */
    absenceAppliedAt: timestamp('absence_applied_at', { withTimezone: true }),
    /** Granted permissions beyond the roles, e.g. `review:override`. */
    permissions: text('permissions')
      .array()
      .notNull()
      .default(sql`'{}'`),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [index('users_company_idx').on(t.companyId)],
);

/** Bearer tokens: several per user, each shown once when issued; only the SHA-256 is kept. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    tokenHash: text('token_hash').notNull().unique(),
    label: text('label').notNull().default(''),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_tokens_user_idx').on(t.userId)],
);

/** Named groups a flow step can address; membership is the user's `groups` (group ids). */
export const groups = pgTable(
  'groups',
  {
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    /** Readable id, as flow templates and users name it. */
    id: text('id').notNull(),
    name: text('name').notNull(),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.companyId, t.id] })],
);

/** Cost centres: the owner is who a "by dimension" step addresses for rows on it. */
export const costCentres = pgTable(
  'cost_centres',
  {
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    code: text('code').notNull(),
    name: text('name').notNull(),
    ownerId: text('owner_id').references(() => users.id),
    active: boolean('active').notNull().default(true),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.companyId, t.code] })],
);

export const approvalLimits = pgTable(
  'approval_limits',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    /** ISO 4217 code, or '*' for every currency without a limit of its own. */
    currency: text('currency').notNull(),
    /** Null means no limit. */
    amount: numeric('amount'),
  },
  (t) => [primaryKey({ columns: [t.userId, t.currency] })],
);

export const codingTemplates = pgTable(
  'coding_templates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    name: text('name').notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    rows: jsonb('rows').$type<{ account: string; percent: string; dimensions?: Record<string, string>; taxCode?: string }[]>().notNull(),
    taxAccount: text('tax_account').notNull(),
    taxCode: text('tax_code'),
    /** An inactive template is applied to nothing new; one in use is deactivated rather than deleted. */
    active: boolean('active').notNull().default(true),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('coding_templates_name_idx').on(t.companyId, t.name),
    uniqueIndex('coding_templates_one_default_idx')
      .on(t.companyId)
      .where(sql`${t.isDefault}`),
  ],
);

export const flowTemplates = pgTable(
  'flow_templates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    name: text('name').notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    steps: jsonb('steps').$type<FlowStepDefinition[]>().notNull(),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('flow_templates_name_idx').on(t.companyId, t.name),
    uniqueIndex('flow_templates_one_default_idx')
      .on(t.companyId)
      .where(sql`${t.isDefault}`),
  ],
);

export const vendors = pgTable(
  'vendors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    name: text('name').notNull(),
    vatNumber: text('vat_number'),
    endpointId: text('endpoint_id'),
    email: text('email'),
    codingTemplateId: uuid('coding_template_id').references(() => codingTemplates.id),
    flowTemplateId: uuid('flow_template_id').references(() => flowTemplates.id),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('vendors_vat_idx').on(t.companyId, t.vatNumber), uniqueIndex('vendors_endpoint_idx').on(t.companyId, t.endpointId)],
);

/** The stages, as the routing vocabulary defines them (domain/stages.ts). */
export const STAGE_VALUES = STAGES;

export const invoices = pgTable(
  'invoices',
  {
    id: uuid('id').primaryKey(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    vendorId: uuid('vendor_id')
      .notNull()
      .references(() => vendors.id),
    documentType: text('document_type', { enum: ['invoice', 'credit_note'] }).notNull(),
    invoiceNumber: text('invoice_number').notNull(),
    invoiceDate: date('invoice_date', { mode: 'string' }).notNull(),
    dueDate: date('due_date', { mode: 'string' }).notNull(),
    currency: text('currency').notNull(),
    net: numeric('net').notNull(),
    tax: numeric('tax').notNull(),
    gross: numeric('gross').notNull(),
    buyerReference: text('buyer_reference'),
    orderReference: text('order_reference'),
    contractReference: text('contract_reference'),
    confidential: boolean('confidential').notNull().default(false),
    sourceFormat: text('source_format', { enum: ['json', 'ubl'] })
      .notNull()
      .default('json'),
    /** UBL: BT-24 and BT-23. */
    customizationId: text('customization_id'),
    profileId: text('profile_id'),
    /** UBL document totals (BG-22) as sent, signs included; null for JSON intake. */
    lineTotal: numeric('line_total'),
    allowanceTotal: numeric('allowance_total'),
    chargeTotal: numeric('charge_total'),
    prepaid: numeric('prepaid'),
    rounding: numeric('rounding'),
    payable: numeric('payable'),
    stage: text('stage', { enum: STAGE_VALUES }).notNull().default('new'),
    workflowId: text('workflow_id').notNull().unique(),
    /** The workflow's state sequence last projected here; older snapshots are ignored. */
    workflowSeq: integer('workflow_seq').notNull().default(0),
    /** Grows with every change of the coding rows: the ETag of `PATCH /invoices/:id/coding`. */
    codingVersion: integer('coding_version').notNull().default(0),
    /** When its workflow was started; null until then (intake starts it after committing, the worker's starter retries). */
    workflowStartedAt: timestamp('workflow_started_at', { withTimezone: true }),
    /**
     * The workflow's first step as the starter prepared it (coding, route, review, first task; already
     * projected here), until the workflow is started from it: whoever starts it (intake, the inbox,
     * the worker's starter after a failed start) starts it from this, never from a second preparation.
     */
    prepared: jsonb('prepared'),
    /** Held in the inbox until someone starts its workflow (`POST /invoices/:id/start`). */
    manualStart: boolean('manual_start').notNull().default(false),
    createdBy: text('created_by').references(() => users.id),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Invoices and credit notes of a supplier are separate number series.
    uniqueIndex('invoices_number_idx').on(t.companyId, t.vendorId, t.documentType, t.invoiceNumber),
    index('invoices_unstarted_idx')
      .on(t.createdAt)
      .where(sql`${t.workflowStartedAt} is null`),
    index('invoices_inbox_idx')
      .on(t.companyId, t.createdAt)
      .where(sql`${t.manualStart} and ${t.workflowStartedAt} is null`),
    index('invoices_company_stage_idx').on(t.companyId, t.stage),
    index('invoices_company_created_idx').on(t.companyId, t.createdAt, t.id),
  ],
);

export const invoiceLines = pgTable(
  'invoice_lines',
  {
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    lineNo: integer('line_no').notNull(),
    description: text('description').notNull(),
    quantity: numeric('quantity').notNull(),
    unitPrice: numeric('unit_price').notNull(),
    net: numeric('net').notNull(),
    taxRate: numeric('tax_rate').notNull(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.lineNo] })],
);

/** The document as received, byte for byte. */
export const invoiceDocuments = pgTable('invoice_documents', {
  invoiceId: uuid('invoice_id')
    .primaryKey()
    .references(() => invoices.id),
  contentType: text('content_type').notNull(),
  content: bytea('content').notNull(),
  sha256: text('sha256').notNull(),
  size: integer('size').notNull(),
  receivedAt: createdAt(),
});

/** Attachments named in a UBL document (BG-24), as metadata; the content stays in the document. */
export const invoiceAttachments = pgTable(
  'invoice_attachments',
  {
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    position: integer('position').notNull(),
    reference: text('reference').notNull(),
    description: text('description'),
    filename: text('filename'),
    mimeCode: text('mime_code'),
    embeddedBytes: integer('embedded_bytes'),
    uri: text('uri'),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.position] })],
);

/** Responses to requests sent with an Idempotency-Key, so a retried request gets the first answer. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    status: integer('status').notNull(),
    response: jsonb('response').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] })],
);

export const codingRows = pgTable(
  'coding_rows',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    rowNo: integer('row_no').notNull(),
    kind: text('kind', { enum: ['expense', 'tax'] }).notNull(),
    account: text('account').notNull(),
    dimensions: jsonb('dimensions').$type<Record<string, string>>().notNull().default({}),
    taxCode: text('tax_code'),
    amount: numeric('amount').notNull(),
    reviewedBy: text('reviewed_by').references(() => users.id),
    reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
    approvedBy: text('approved_by').references(() => users.id),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    /** Second approval signature, for amounts above the two-approver threshold. */
    secondApprovedBy: text('second_approved_by').references(() => users.id),
    secondApprovedAt: timestamp('second_approved_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('coding_rows_invoice_row_idx').on(t.invoiceId, t.rowNo)],
);

export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    stage: text('stage', { enum: STAGE_VALUES }).notNull(),
    step: integer('step').notNull(),
    mode: text('mode', { enum: TASK_MODES }).notNull(),
    state: text('state', { enum: ['open', 'done'] }).notNull(),
    assignees: text('assignees').array().notNull(),
    actedBy: text('acted_by')
      .array()
      .notNull()
      .default(sql`'{}'`),
    action: text('action'),
    /** Exceptions review: the message for the clerks. */
    message: text('message'),
    remindedAt: timestamp('reminded_at', { withTimezone: true }),
    escalatedAt: timestamp('escalated_at', { withTimezone: true }),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
  },
  (t) => [index('tasks_invoice_idx').on(t.invoiceId), index('tasks_open_idx').on(t.companyId, t.state, t.openedAt)],
);

/**
 * The work queue's index: one row per task and user, as assignee or as someone who acted, so that
 * "my open tasks" and "what I did" are index range scans however many tasks there are.
 */
export const taskUsers = pgTable(
  'task_users',
  {
    userId: text('user_id').notNull(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id),
    relation: text('relation', { enum: ['assignee', 'actor'] }).notNull(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    state: text('state', { enum: ['open', 'done'] }).notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.taskId, t.relation] }),
    // Open queue: my open assignments in order. Done queue: what I acted on, in order.
    index('task_users_queue_idx').on(t.userId, t.relation, t.state, t.openedAt, t.taskId),
    index('task_users_history_idx').on(t.userId, t.relation, t.openedAt, t.taskId),
    // recordState replaces a task's rows by task id; without this every projection scanned the table.
    index('task_users_task_idx').on(t.taskId),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    invoiceId: uuid('invoice_id').references(() => invoices.id),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    kind: text('kind').notNull(),
    message: text('message').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    /** Makes retried writes of the same event a no-op. */
    eventKey: text('event_key').unique(),
  },
  (t) => [index('audit_invoice_idx').on(t.invoiceId, t.id)],
);

export const settings = pgTable('settings', {
  companyId: uuid('company_id')
    .primaryKey()
    .references(() => companies.id),
  useWorkqueueSend: boolean('use_workqueue_send').notNull().default(false),
  allowBatchApproveAll: boolean('allow_batch_approve_all').notNull().default(false),
  /** Gross above which two different approvers must sign; null for never. */
  twoApproverThreshold: numeric('two_approver_threshold'),
  payableAccount: text('payable_account').notNull().default('2400'),
  receivableAccount: text('receivable_account').notNull().default('1500'),
  version: version(),
  /** Whether a new invoice's workflow starts on intake (otherwise it waits in the inbox), when intake does not say. */
  autoStart: boolean('auto_start').notNull().default(true),
  /** Authorization scheme: an incorrect invoice reaching approval is rejected with the failed checks. */
  autoRejectIncorrect: boolean('auto_reject_incorrect').notNull().default(false),
  /** Authorization scheme: an invoice so rejected goes back to approval once a re-review finds it correct. */
  autoReauthorize: boolean('auto_reauthorize').notNull().default(false),
});

export const journalEntries = pgTable(
  'journal_entries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    /** At most one entry per invoice: the guard that makes final posting exactly-once. */
    invoiceId: uuid('invoice_id')
      .references(() => invoices.id)
      .unique(),
    /** The same guard for sales invoices (SPEC 2.5): an entry posts a purchase or a sales invoice, never both. */
    salesInvoiceId: uuid('sales_invoice_id')
      .references((): AnyPgColumn => salesInvoices.id)
      .unique(),
    currency: text('currency').notNull(),
    description: text('description').notNull(),
    postedAt: timestamp('posted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('journal_company_idx').on(t.companyId, t.postedAt),
    check('journal_entries_one_source', sql`num_nonnulls(${t.invoiceId}, ${t.salesInvoiceId}) = 1`),
  ],
);

export const journalLines = pgTable(
  'journal_lines',
  {
    entryId: uuid('entry_id')
      .notNull()
      .references(() => journalEntries.id),
    lineNo: integer('line_no').notNull(),
    account: text('account').notNull(),
    debit: numeric('debit').notNull(),
    credit: numeric('credit').notNull(),
    dimensions: jsonb('dimensions').$type<Record<string, string>>().notNull().default({}),
    description: text('description').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.entryId, t.lineNo] }),
    check('journal_lines_non_negative', sql`${t.debit} >= 0 and ${t.credit} >= 0`),
    check('journal_lines_one_side', sql`${t.debit} = 0 or ${t.credit} = 0`),
  ],
);

export const agreements = pgTable(
  'agreements',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    vendorId: uuid('vendor_id')
      .notNull()
      .references(() => vendors.id),
    referencePattern: text('reference_pattern'),
    invoiceNumber: text('invoice_number'),
    amountFrom: numeric('amount_from').notNull(),
    amountTo: numeric('amount_to').notNull(),
    days: integer('days').notNull(),
    cumulativeCap: numeric('cumulative_cap'),
    /** Kept by the system: the sum of the matched invoices' gross since the last reset. */
    cumulativeTotal: numeric('cumulative_total').notNull().default('0'),
    resetPeriod: text('reset_period', { enum: ['monthly', 'quarterly', 'yearly'] }),
    lastResetAt: timestamp('last_reset_at', { withTimezone: true }).notNull().defaultNow(),
    codingTemplateId: uuid('coding_template_id')
      .notNull()
      .references(() => codingTemplates.id),
    approvalUserId: text('approval_user_id').references(() => users.id),
    flowTemplateId: uuid('flow_template_id').references(() => flowTemplates.id),
    stage: text('stage', { enum: STEP_KINDS }),
    /** An inactive agreement matches nothing; one with matched invoices is deactivated rather than deleted. */
    active: boolean('active').notNull().default(true),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [index('agreements_vendor_idx').on(t.companyId, t.vendorId)],
);

/** One row per matched invoice: the guard that adds each gross to the cumulative total exactly once. */
export const agreementMatches = pgTable(
  'agreement_matches',
  {
    invoiceId: uuid('invoice_id')
      .primaryKey()
      .references(() => invoices.id),
    agreementId: uuid('agreement_id')
      .notNull()
      .references(() => agreements.id),
    invoiceDate: date('invoice_date', { mode: 'string' }).notNull(),
    gross: numeric('gross').notNull(),
    /** Whether the gross still counts in the cumulative total (a reset clears it). */
    counted: boolean('counted').notNull().default(true),
    matchedAt: createdAt(),
  },
  (t) => [index('agreement_matches_agreement_idx').on(t.agreementId, t.invoiceDate)],
);

/**
 * Mails waiting to be sent, written in the same transaction as the change that decided them (the
 * workflow's projection); the worker's dispatcher delivers them with retries, off the invoices' path.
 */
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    /** The invoice the mail is about; null for a digest. */
    invoiceId: uuid('invoice_id').references(() => invoices.id),
    /** Unique per purpose, e.g. `<taskId>:reminder`: a retried write never queues twice. */
    key: text('key').notNull().unique(),
    /** reminder, escalation (task mails, written when sent); supplier, department, digest, notice (rendered when queued). */
    kind: text('kind').notNull(),
    taskId: text('task_id'),
    /** Users to write to (their e-mail addresses are looked up when sent). */
    toUsers: text('to_users')
      .array()
      .notNull()
      .default(sql`'{}'`),
    /** Addresses outside the company (a supplier, a department). */
    toAddresses: text('to_addresses')
      .array()
      .notNull()
      .default(sql`'{}'`),
    /** Rendered when queued, for mails that are not task mails. */
    subject: text('subject'),
    body: text('body'),
    /** The address a reply goes to (a supplier's answer comes back to the invoice). */
    replyTo: text('reply_to'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index('mail_outbox_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.sentAt} is null`),
  ],
);

/**
 * Automatic review rules: of a company, or of an environment (every company in it). The rule's
 * definition lives in its versions; editing makes a new version, and a review records the versions
 * it used.
 */
export const reviewRules = pgTable(
  'review_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    scope: text('scope', { enum: ['company', 'environment'] }).notNull(),
    companyId: uuid('company_id').references(() => companies.id),
    environment: text('environment'),
    /** The version in force. */
    version: integer('version').notNull().default(1),
    active: boolean('active').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [
    index('review_rules_company_idx').on(t.companyId),
    index('review_rules_environment_idx').on(t.environment),
    check(
      'review_rules_scope',
      sql`(${t.scope} = 'company' and ${t.companyId} is not null) or (${t.scope} = 'environment' and ${t.environment} is not null)`,
    ),
  ],
);

export const reviewRuleVersions = pgTable(
  'review_rule_versions',
  {
    ruleId: uuid('rule_id')
      .notNull()
      .references(() => reviewRules.id),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    message: text('message').notNull(),
    applicability: jsonb('applicability').$type<ReviewApplicability>().notNull().default({}),
    conditions: jsonb('conditions').$type<ReviewCondition[]>().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.ruleId, t.version] })],
);

/** The latest review of each invoice: status, marks per row and field, and the rule versions used. */
export const invoiceReviews = pgTable('invoice_reviews', {
  invoiceId: uuid('invoice_id')
    .primaryKey()
    .references(() => invoices.id),
  status: text('status', { enum: ['correct', 'incorrect', 'not_reviewed', 'manually_correct'] }).notNull(),
  result: jsonb('result').$type<Omit<ReviewResult, 'status'>>().notNull(),
  reviewedBy: text('reviewed_by').notNull(),
  /** Why it was reviewed: intake, coding, request, override. */
  trigger: text('trigger').notNull(),
  comment: text('comment'),
  reviewedAt: timestamp('reviewed_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Obligations (purchase orders): what invoices with their order number are checked against. */
export const obligations = pgTable(
  'obligations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    vendorId: uuid('vendor_id')
      .notNull()
      .references(() => vendors.id),
    orderNumber: text('order_number').notNull(),
    amount: numeric('amount').notNull(),
    currency: text('currency').notNull(),
    tolerancePercent: numeric('tolerance_percent'),
    toleranceAmount: numeric('tolerance_amount'),
    /** Kept by the system: the gross of the invoices counted against it. */
    invoicedTotal: numeric('invoiced_total').notNull().default('0'),
    active: boolean('active').notNull().default(true),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('obligations_order_idx').on(t.companyId, t.vendorId, t.orderNumber)],
);

/** One row per invoice counted against an obligation: the guard that counts each gross once. */
export const obligationMatches = pgTable(
  'obligation_matches',
  {
    invoiceId: uuid('invoice_id')
      .primaryKey()
      .references(() => invoices.id),
    obligationId: uuid('obligation_id')
      .notNull()
      .references(() => obligations.id),
    gross: numeric('gross').notNull(),
    /** Whether the gross counts now (a rejected or cancelled invoice gives it back). */
    counted: boolean('counted').notNull().default(true),
    matchedAt: createdAt(),
  },
  (t) => [index('obligation_matches_obligation_idx').on(t.obligationId)],
);

/**
 * Start rules (SPEC 2.4): evaluated in order when an invoice's workflow starts, on the fields of
 * the incoming document; the first rule whose conditions all hold applies its outcome.
 */
export const startRules = pgTable(
  'start_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    /** Evaluation order, lowest first. */
    position: integer('position').notNull(),
    name: text('name').notNull(),
    conditions: jsonb('conditions').$type<StartCondition[]>().notNull(),
    outcome: jsonb('outcome').$type<StartOutcome>().notNull(),
    active: boolean('active').notNull().default(true),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [index('start_rules_company_idx').on(t.companyId, t.position)],
);

/** Mails about an invoice: sent to a supplier or department, and their answers received. */
export const invoiceMessages = pgTable(
  'invoice_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    direction: text('direction', { enum: ['out', 'in'] }).notNull(),
    from: text('from_address').notNull(),
    to: text('to_address').notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    /** The SMTP Message-ID, so a redelivered answer is stored once. */
    messageId: text('message_id').unique(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('invoice_messages_invoice_idx').on(t.invoiceId, t.at)],
);

export const messageAttachments = pgTable(
  'message_attachments',
  {
    messageId: uuid('message_id')
      .notNull()
      .references(() => invoiceMessages.id),
    position: integer('position').notNull(),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
    content: bytea('content').notNull(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.position] })],
);

// ---- Sales (SPEC 2.5): customers, products, sales invoices and their mass posting ----

/** Customers of the company as seller; `receivableAccount` null means the company's (settings). */
export const customers = pgTable(
  'customers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    name: text('name').notNull(),
    vatNumber: text('vat_number'),
    endpointId: text('endpoint_id'),
    email: text('email'),
    paymentTerms: text('payment_terms', { enum: PAYMENT_TERMS }).notNull().default('net_30'),
    receivableAccount: text('receivable_account'),
    active: boolean('active').notNull().default(true),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('customers_vat_idx').on(t.companyId, t.vatNumber),
    uniqueIndex('customers_endpoint_idx').on(t.companyId, t.endpointId),
    index('customers_company_name_idx').on(t.companyId, t.name, t.id),
  ],
);

/** What the company sells; a product may create a customer item and may need serial numbers. */
export const products = pgTable(
  'products',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    /** The price a new line takes when it names none. */
    unitPrice: numeric('unit_price'),
    taxRate: numeric('tax_rate').notNull().default('25'),
    /** Revenue account of its lines; null means the sales settings' default. */
    revenueAccount: text('revenue_account'),
    /** A sale creates a customer item: an asset or subscription the customer owns afterwards. */
    createsCustomerItem: boolean('creates_customer_item').notNull().default(false),
    /** Each unit sold needs its serial number before the invoice can be posted. */
    requiresSerialNumbers: boolean('requires_serial_numbers').notNull().default(false),
    active: boolean('active').notNull().default(true),
    version: version(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('products_sku_idx').on(t.companyId, t.sku), index('products_company_name_idx').on(t.companyId, t.name, t.id)],
);

/** A company's sales settings, apart from the purchase settings (one row, created on first use). */
export const salesSettings = pgTable('sales_settings', {
  companyId: uuid('company_id')
    .primaryKey()
    .references(() => companies.id),
  /** "Require user confirmation of customer item details before posting invoice". */
  requireCustomerItemReview: boolean('require_customer_item_review').notNull().default(false),
  revenueAccount: text('revenue_account').notNull().default('3000'),
  taxAccount: text('tax_account').notNull().default('2610'),
  cashAccount: text('cash_account').notNull().default('1910'),
  bankAccount: text('bank_account').notNull().default('1930'),
  version: version(),
});

export const salesInvoices = pgTable(
  'sales_invoices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id),
    invoiceNumber: text('invoice_number').notNull(),
    invoiceDate: date('invoice_date', { mode: 'string' }).notNull(),
    dueDate: date('due_date', { mode: 'string' }).notNull(),
    currency: text('currency').notNull(),
    net: numeric('net').notNull(),
    tax: numeric('tax').notNull(),
    gross: numeric('gross').notNull(),
    state: text('state', { enum: SALES_INVOICE_STATES }).notNull().default('unposted'),
    /** The posting run that holds it (set when a run is confirmed, cleared if the run leaves it unposted). */
    postingId: text('posting_id'),
    sourceFormat: text('source_format', { enum: ['json', 'ubl'] })
      .notNull()
      .default('json'),
    /** Grows with every change (lines, serial numbers, customer items): previews are bound to it. */
    version: version(),
    createdBy: text('created_by').references(() => users.id),
    createdAt: createdAt(),
    postedAt: timestamp('posted_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('sales_invoices_number_idx').on(t.companyId, t.invoiceNumber),
    index('sales_invoices_list_idx').on(t.companyId, t.state, t.invoiceDate, t.id),
    index('sales_invoices_posting_idx').on(t.postingId),
  ],
);

export const salesInvoiceLines = pgTable(
  'sales_invoice_lines',
  {
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => salesInvoices.id),
    lineNo: integer('line_no').notNull(),
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id),
    description: text('description').notNull(),
    quantity: numeric('quantity').notNull(),
    unitPrice: numeric('unit_price').notNull(),
    net: numeric('net').notNull(),
    taxRate: numeric('tax_rate').notNull(),
    tax: numeric('tax').notNull(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.lineNo] })],
);

/** Serial numbers loaded for a line, one per unit. */
export const salesSerialNumbers = pgTable(
  'sales_serial_numbers',
  {
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => salesInvoices.id),
    lineNo: integer('line_no').notNull(),
    serialNumber: text('serial_number').notNull(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.lineNo, t.serialNumber] })],
);

/**
 * Customer items derived from invoice lines whose product creates one: `pending` until the invoice
 * is posted, `active` (owned by the customer) from the posting's transaction on.
 */
export const customerItems = pgTable(
  'customer_items',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id),
    salesInvoiceId: uuid('sales_invoice_id')
      .notNull()
      .references(() => salesInvoices.id),
    lineNo: integer('line_no').notNull(),
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id),
    description: text('description').notNull(),
    quantity: numeric('quantity').notNull(),
    state: text('state', { enum: ['pending', 'active'] })
      .notNull()
      .default('pending'),
    reviewedBy: text('reviewed_by').references(() => users.id),
    reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
    activatedAt: timestamp('activated_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('customer_items_line_idx').on(t.salesInvoiceId, t.lineNo),
    index('customer_items_customer_idx').on(t.customerId, t.state),
  ],
);

/** A preview of a mass posting: the token names it; it holds the selection at its versions. */
export const salesPostPreviews = pgTable('sales_post_previews', {
  id: uuid('id').primaryKey().defaultRandom(),
  companyId: uuid('company_id')
    .notNull()
    .references(() => companies.id),
  userId: text('user_id')
    .notNull()
    .references(() => users.id),
  /** Each selected invoice with the version and the blockers the preview saw. */
  selection: jsonb('selection').$type<{ id: string; version: number; blockers: string[] }[]>().notNull(),
  createdAt: createdAt(),
});

/** A confirmed mass posting: one `salesPostingWorkflow` run, whose id is this row's id. */
export const salesPostings = pgTable(
  'sales_postings',
  {
    id: text('id').primaryKey(),
    previewId: uuid('preview_id')
      .notNull()
      .references(() => salesPostPreviews.id)
      .unique(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id),
    createdBy: text('created_by')
      .notNull()
      .references(() => users.id),
    mode: text('mode', { enum: POSTING_MODES }).notNull(),
    state: text('state', { enum: POSTING_RUN_STATES }).notNull().default('running'),
    invoiceIds: jsonb('invoice_ids').$type<string[]>().notNull(),
    posted: integer('posted').notNull().default(0),
    customerItems: integer('customer_items').notNull().default(0),
    /** Invoices the run did not post, with the reason in a clerk's words. */
    refused: jsonb('refused').$type<{ id: string; reasons: string[] }[]>().notNull().default([]),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('sales_postings_company_idx').on(t.companyId, t.createdAt)],
);
