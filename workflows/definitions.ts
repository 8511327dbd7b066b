/**
 * The contract between the invoice workflow and everything that talks to it: the API, the
 * Temporal Web UI, the CLI and tests. Imports only from Temporal's workflow and common packages,
 * so the API can import it without pulling in the workflow implementation.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const TASK_QUEUE = 'invoices';
export const INVOICE_WORKFLOW_TYPE = 'invoiceWorkflow';

/** One workflow per invoice; a second start with the same id is refused by the server. */
export function invoiceWorkflowId(invoiceId: string): string {
  return `invoice-${invoiceId}`;
}

export const STAGES = [
  'new',
  'review',
  'approval',
  'control',
  'copy',
  'payment',
  'posted',
  'exceptions_review',
  'rejected',
  'cancelled',
] as const;
export type Stage = (typeof STAGES)[number];

export const STEP_KINDS = ['review', 'approval', 'control', 'copy'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Custom search attributes, registered on the server so admins can find invoices in the Web UI. */
export const searchAttributes = {
  InvoiceStage: defineSearchAttributeKey('InvoiceStage', 'KEYWORD'),
  VendorId: defineSearchAttributeKey('VendorId', 'KEYWORD'),
  CompanyId: defineSearchAttributeKey('CompanyId', 'KEYWORD'),
  Assignees: defineSearchAttributeKey('Assignees', 'KEYWORD_LIST'),
  GrossAmount: defineSearchAttributeKey('GrossAmount', 'DOUBLE'),
  DueDate: defineSearchAttributeKey('DueDate', 'DATETIME'),
} as const;

/** The same attributes as the Temporal CLI names their types (`--search-attribute Name=Type`). */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<keyof typeof searchAttributes, string> = {
  InvoiceStage: 'Keyword',
  VendorId: 'Keyword',
  CompanyId: 'Keyword',
  Assignees: 'KeywordList',
  GrossAmount: 'Double',
  DueDate: 'Datetime',
};

/** What the workflow is started with: ids only, never documents or secrets (history keeps them). */
export interface InvoiceWorkflowInput {
  invoiceId: string;
  companyId: string;
  /** Set by continue-as-new: the state the previous run handed over. */
  resume?: ResumeState;
  /** Continue as new after this many history events (default: when the server suggests it). */
  maxHistoryEvents?: number;
}

export interface InvoiceWorkflowResult {
  stage: Stage;
  journalEntryId?: string;
}

// ---- Actions: each is both an Update (API) and a Signal (Web UI, CLI) with one payload shape ----

export interface ApprovePayload {
  by: string;
  comment?: string;
}
export interface RejectPayload {
  by: string;
  reason: string;
}
export interface DelegatePayload {
  by: string;
  to: string;
  comment?: string;
}
export interface NotMinePayload {
  by: string;
}
export interface ExceptionsReviewPayload {
  by: string;
  message: string;
}
export interface ResolveExceptionPayload {
  by: string;
  comment?: string;
}
export interface RestartPayload {
  by: string;
  stage?: Stage;
  reason?: string;
}
export interface AssigneeSpecPayload {
  users?: string[];
  groups?: string[];
  roles?: string[];
}
export interface ReassignPayload {
  by: string;
  taskId?: string;
  to?: AssigneeSpecPayload;
  stage?: Stage;
  reason?: string;
}

/** What an accepted action did. */
export interface ActionResult {
  stage: Stage;
  /** True when the invoice left the stage it was in. */
  moved: boolean;
  message: string;
}

/** `ApplicationFailure.type` of an action the workflow refuses; `details[0]` is a {@link Refusal}. */
export const ACTION_REFUSED = 'ActionRefused';

export const REFUSAL_CODES = [
  'not_ready',
  'not_assignee',
  'no_open_task',
  'already_acted',
  'no_approval_rights',
  'segregation_of_duties',
  'no_addressee',
  'coding_incomplete',
  'invalid_payload',
  'wrong_stage',
  'not_shared',
  'not_admin',
  'unknown_user',
  'finished',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export const approveUpdate = defineUpdate<ActionResult, [ApprovePayload]>('approve');
export const approveSignal = defineSignal<[ApprovePayload]>('approve');
export const rejectUpdate = defineUpdate<ActionResult, [RejectPayload]>('reject');
export const rejectSignal = defineSignal<[RejectPayload]>('reject');
export const delegateUpdate = defineUpdate<ActionResult, [DelegatePayload]>('delegate');
export const delegateSignal = defineSignal<[DelegatePayload]>('delegate');
export const notMineUpdate = defineUpdate<ActionResult, [NotMinePayload]>('notMine');
export const notMineSignal = defineSignal<[NotMinePayload]>('notMine');
export const exceptionsReviewUpdate = defineUpdate<ActionResult, [ExceptionsReviewPayload]>('exceptionsReview');
export const exceptionsReviewSignal = defineSignal<[ExceptionsReviewPayload]>('exceptionsReview');
export const resolveExceptionUpdate = defineUpdate<ActionResult, [ResolveExceptionPayload]>('resolveException');
export const resolveExceptionSignal = defineSignal<[ResolveExceptionPayload]>('resolveException');
export const restartUpdate = defineUpdate<ActionResult, [RestartPayload]>('restart');
export const restartSignal = defineSignal<[RestartPayload]>('restart');
export const reassignUpdate = defineUpdate<ActionResult, [ReassignPayload]>('reassign');
export const reassignSignal = defineSignal<[ReassignPayload]>('reassign');

/** Every action, by name, as the API and the Web UI call it. */
export const ACTIONS = ['approve', 'reject', 'delegate', 'notMine', 'exceptionsReview', 'resolveException', 'restart', 'reassign'] as const;
export type ActionName = (typeof ACTIONS)[number];

// ---- What the workflow gets from the database when it starts (activity `prepareInvoice`) ----

export interface ResolvedStep {
  kind: StepKind;
  mode: TaskMode;
  /** User ids addressed by the step, resolved from users, groups, roles and dimensions. */
  assignees: string[];
  /** Approval steps: for each assignee, the coding rows the user has the right to sign. */
  signable: Record<string, string[]>;
  /** Durations in milliseconds, from the flow template; absent when the step has none. */
  reminderAfterMs?: number;
  escalateAfterMs?: number;
  /** Who an escalated task is added to. */
  escalateTo?: string[];
}

export interface InvoiceContext {
  invoiceId: string;
  companyId: string;
  vendorId: string;
  currency: string;
  gross: string;
  dueDate: string;
  registeredBy?: string;
  rows: { id: string; kind: 'expense' | 'tax'; dimensions: Record<string, string>; approvedBy?: string }[];
  /** Set when the invoice matched an agreement: touchless goes straight to final posting. */
  agreement?: { id: string; touchless: boolean; stage?: StepKind };
  /** Why the coding cannot go on yet (missing or not adding up to the gross); absent when fine. */
  codingProblem?: string;
  clerks: string[];
  admins: string[];
  steps: ResolvedStep[];
  /** 2 when the gross is above the company's two-approver threshold. */
  requiredApprovals?: number;
}

// ---- State, as the `state` query answers it and as it is projected into Postgres ----

export type TaskMode = 'any' | 'all';

export interface TaskView {
  /** Stable across retries: `<workflowId>/<n>`. */
  id: string;
  stage: Stage;
  /** Index of the flow step the task belongs to; -1 for clerk tasks outside the flow. */
  step: number;
  mode: TaskMode;
  state: 'open' | 'done';
  /** User ids who may act on the task. */
  assignees: string[];
  /** User ids who have acted, in order. */
  actedBy: string[];
  /** Opened for several users: each may leave it with "not mine". */
  shared?: boolean;
  action?: string;
  /** Exceptions review: the message for the clerks. */
  message?: string;
  remindedAt?: string;
  escalatedAt?: string;
  openedAt: string;
  closedAt?: string;
}

export interface RowSignatures {
  rowId: string;
  reviewedBy?: string;
  reviewedAt?: string;
  approvedBy?: string;
  approvedAt?: string;
  /** The second approver, when the amount needs two. */
  secondApprovedBy?: string;
  secondApprovedAt?: string;
}

export interface HistoryEntry {
  at: string;
  actor: string;
  action: string;
  stage: Stage;
  outcome: 'done' | 'refused' | 'system';
  message: string;
}

export interface InvoiceState {
  invoiceId: string;
  stage: Stage;
  /** Increases with every change; the Postgres projection never goes back to a lower one. */
  seq: number;
  tasks: TaskView[];
  rows: RowSignatures[];
  history: HistoryEntry[];
  journalEntryId?: string;
}

export const stateQuery = defineQuery<InvoiceState>('state');

/** What continue-as-new hands to the next run: the process state plus what was already persisted. */
export interface ResumeState {
  process: unknown;
  historyOffset: number;
  context: InvoiceContext;
}
