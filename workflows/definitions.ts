/**
 * The contract between the invoice workflow and everything that talks to it: the API, the
 * Temporal Web UI, the CLI and tests. The API imports this file (and `payloads.ts`), never the
 * workflow implementation.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Stage, TaskMode } from '../domain/stages';
import type {
  ApprovePayload,
  CodingChangedPayload,
  DelegatePayload,
  ExceptionsReviewPayload,
  NotMinePayload,
  OverrideReviewPayload,
  ReassignPayload,
  RefreshPayload,
  RejectPayload,
  ResolveExceptionPayload,
  RestartPayload,
  ReviewAgainPayload,
} from './payloads';

export { STAGES, STEP_KINDS, TASK_MODES } from '../domain/stages';
export type { Stage, StepKind, TaskMode } from '../domain/stages';
export type * from './payloads';

export const TASK_QUEUE = 'invoices';
export const INVOICE_WORKFLOW_TYPE = 'invoiceWorkflow';

/** One workflow per invoice; a second start with the same id is refused by the server. */
export function invoiceWorkflowId(invoiceId: string): string {
  return `invoice-${invoiceId}`;
}

/** Custom search attributes, registered on the server so admins can find invoices in the Web UI. */
export const searchAttributes = {
  InvoiceStage: defineSearchAttributeKey('InvoiceStage', 'KEYWORD'),
  VendorId: defineSearchAttributeKey('VendorId', 'KEYWORD'),
  CompanyId: defineSearchAttributeKey('CompanyId', 'KEYWORD'),
  InvoiceNumber: defineSearchAttributeKey('InvoiceNumber', 'KEYWORD'),
  Assignees: defineSearchAttributeKey('Assignees', 'KEYWORD_LIST'),
  GrossAmount: defineSearchAttributeKey('GrossAmount', 'DOUBLE'),
  DueDate: defineSearchAttributeKey('DueDate', 'DATETIME'),
  /** Set while the invoice waits on something other than people: a failing activity, or nobody to assign. */
  BlockedOn: defineSearchAttributeKey('BlockedOn', 'KEYWORD'),
} as const;

/** The same attributes as the Temporal CLI names their types (`--search-attribute Name=Type`). */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<keyof typeof searchAttributes, string> = {
  InvoiceStage: 'Keyword',
  VendorId: 'Keyword',
  CompanyId: 'Keyword',
  InvoiceNumber: 'Keyword',
  Assignees: 'KeywordList',
  GrossAmount: 'Double',
  DueDate: 'Datetime',
  BlockedOn: 'Keyword',
};

/** The routing generation of new invoices; runs without it started on the v1 code (workflows/legacy). */
export const ROUTING_V2 = 2;

/** What the workflow is started with: ids only, never documents or secrets (history keeps them). */
export interface InvoiceWorkflowInput {
  invoiceId: string;
  companyId: string;
  /** {@link ROUTING_V2} for invoices started since routing v2. */
  routing?: typeof ROUTING_V2;
  /** Set by continue-as-new (the state the previous run handed over), or by a starter that took the first step. */
  resume?: ResumeState;
  /** Continue as new after this many history events (default: when the server suggests it). */
  maxHistoryEvents?: number;
}

export interface InvoiceWorkflowResult {
  stage: Stage;
  journalEntryId?: string;
}

/** What continue-as-new hands to the next run. v1 runs hand over `{process, historyOffset, context}`. */
export interface ResumeState {
  process: unknown;
  historyOffset: number;
  /**
   * Set when the starter took the first step (lib/first-step.ts): the process is new, its state is
   * written already, and the search attributes it was started with show it (BlockedOn included).
   */
  firstStep?: true;
  /** v1 only: the context resolved at intake. */
  context?: unknown;
}

/** What an accepted action did. */
export interface ActionResult {
  stage: Stage;
  /** True when the invoice left the stage it was in. */
  moved: boolean;
  message: string;
  /** The task now open, if any, and who it waits for. */
  openTask?: { id: string; stage: Stage; assignees: string[] };
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
  'no_route',
  'coding_incomplete',
  'invalid_payload',
  'wrong_stage',
  'not_shared',
  'not_admin',
  'unknown_user',
  'finished',
  'changed_concurrently',
  'stale_version',
  'coding_invalid',
  'review_off',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export interface Refusal {
  code: RefusalCode;
  message: string;
  /** When the workflow refused (Updates only). */
  at?: string;
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
export const refreshUpdate = defineUpdate<ActionResult, [RefreshPayload]>('refresh');
export const refreshSignal = defineSignal<[RefreshPayload]>('refresh');
export const codingChangedUpdate = defineUpdate<ActionResult, [CodingChangedPayload]>('codingChanged');
export const codingChangedSignal = defineSignal<[CodingChangedPayload]>('codingChanged');
export const reviewAgainUpdate = defineUpdate<ActionResult, [ReviewAgainPayload]>('reviewAgain');
export const reviewAgainSignal = defineSignal<[ReviewAgainPayload]>('reviewAgain');
export const overrideReviewUpdate = defineUpdate<ActionResult, [OverrideReviewPayload]>('overrideReview');
export const overrideReviewSignal = defineSignal<[OverrideReviewPayload]>('overrideReview');

/** From the inbound mail endpoint: a supplier's answer (stored as invoice message `messageId`) arrived. */
export interface SupplierRepliedPayload {
  messageId: string;
}
export const supplierRepliedUpdate = defineUpdate<ActionResult, [SupplierRepliedPayload]>('supplierReplied');

/** Every action, by name, as the API and the Web UI call it. */
export const ACTIONS = [
  'approve',
  'reject',
  'delegate',
  'notMine',
  'exceptionsReview',
  'resolveException',
  'restart',
  'reassign',
  'refresh',
  'codingChanged',
  'reviewAgain',
  'overrideReview',
] as const;
export type ActionName = (typeof ACTIONS)[number];

/** Actions only an admin of the invoice's company may take. */
export const ADMIN_ACTIONS: readonly ActionName[] = ['restart', 'reassign', 'refresh'];

// ---- State, as the `state` query answers it and as it is projected into Postgres ----

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

/** A mail the process decided to send; the projection writes it to the outbox, the dispatcher sends it. */
export interface MailIntent {
  /** Unique per invoice and purpose, e.g. `<taskId>:reminder`: a retried write never sends twice. */
  key: string;
  /** reminder, escalation: to the task's people; supplier_reminder: to the supplier again; clerk_notice: no answer from the supplier. */
  kind: 'reminder' | 'escalation' | 'supplier_reminder' | 'clerk_notice';
  taskId: string;
  to: string[];
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
  /** Signatures every row needs (2 above the two-approver threshold). */
  requiredApprovals?: number;
  /** Mails to queue with this snapshot. */
  mails?: MailIntent[];
}

export const stateQuery = defineQuery<InvoiceState>('state');
