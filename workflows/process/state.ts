/**
 * The routing state of one invoice: plain JSON, carried through continue-as-new, and the small
 * helpers every action uses to read and change it. No Temporal or I/O import.
 */
import type { AssignmentOutcome, AssignmentRequest, RoutingInvoice, RoutingRow, TaskPurpose } from '../../domain/routing/assign';
import { barredFromApproving } from '../../domain/routing/signatures';
import type { AssigneeSpec } from '../../domain/flow';
import type { Stage, StepKind, TaskMode } from '../../domain/stages';
import type { HistoryEntry, MailIntent, Refusal, RefusalCode } from '../definitions';

/** One step of the invoice's route, as the flow template said when the route was loaded. */
export interface RouteStep {
  kind: StepKind;
  mode: TaskMode;
  assignees: AssigneeSpec;
  reminderAfterMs?: number;
  escalateAfterMs?: number;
  escalateTo?: AssigneeSpec;
}

/** The flow an invoice follows, loaded at intake and again on restart. */
export interface Route {
  flowTemplateId?: string;
  name?: string;
  steps: RouteStep[];
  /** Why the invoice cannot be registered on this route (none, or no approval step); absent when fine. */
  problem?: string;
}

export interface Signature {
  by: string;
  at: string;
  /** An agreement's signature, given at matching. */
  agreementId?: string;
}

export interface RowState {
  id: string;
  kind: 'expense' | 'tax';
  dimensions: Record<string, string>;
  review?: Signature;
  /** Approval signatures, first approver first; at most `requiredApprovals` count. */
  approvals: Signature[];
}

export type TaskState = 'resolving' | 'open' | 'done';

export interface Task {
  /** Stable across retries: `<workflowId>/<n>`. */
  id: string;
  stage: Stage;
  /** Index of the route step; -1 for the clerks' tasks; `steps.length` for the payment gate. */
  step: number;
  purpose: TaskPurpose;
  mode: TaskMode;
  state: TaskState;
  assignees: string[];
  /** Approval tasks: the rows each assignee may sign, resolved when they were assigned. */
  rights: Record<string, string[]>;
  actedBy: string[];
  /** Who left the task (not mine, delegated away): never assigned to it again. */
  left: string[];
  /** Who the task addresses when it is (re)resolved: the step's spec, or an admin's reassign. */
  spec?: AssigneeSpec;
  /** Opened for several users: each may leave it with "not mine". */
  shared: boolean;
  action?: string;
  message?: string;
  remindedAt?: string;
  escalatedAt?: string;
  /** An escalation waits for its extra assignees to be resolved. */
  escalating?: boolean;
  openedAt: string;
  closedAt?: string;
}

export interface AgreementFacts {
  id: string;
  /** No flow template: straight to final posting when the signature is valid. */
  touchless: boolean;
  stage?: StepKind;
}

/** The invoice's automatic review as the process acts on it, with the company's authorization options. */
export interface ReviewFacts {
  status: 'correct' | 'incorrect' | 'not_reviewed' | 'manually_correct';
  /** The failed checks in words ("rule name: message"). */
  failed: string[];
  /** Authorization scheme: an incorrect invoice reaching approval is rejected. */
  autoReject: boolean;
  /** Authorization scheme: an invoice rejected as incorrect goes back to approval once reviewed correct. */
  autoReauthorize: boolean;
  /** The invoice counts against an obligation (purchase order): rejecting or cancelling it gives that back. */
  holdsObligation?: boolean;
}

/** Why a review is due, and for whom. */
export interface ReviewRequest {
  trigger: 'intake' | 'coding' | 'request' | 'override';
  by: string;
  comment?: string;
}

/** Everything the process knows; `version: 2` tells it from the v1 process's data. */
export interface ProcessState {
  version: 2;
  invoiceId: string;
  workflowId: string;
  invoice: RoutingInvoice;
  route: Route;
  agreement?: AgreementFacts;
  codingProblem?: string;
  /** Automatic review is on for this invoice (workflows started before it never review). */
  reviews?: boolean;
  /** A review is due; the workflow runs it next (activity `reviewInvoice`). */
  reviewDue?: ReviewRequest;
  review?: ReviewFacts;
  /** Rejected by the review: the approval step it would have gone to, for re-authorization. */
  autoRejected?: { step: number };
  /** A start rule wrote to the supplier and the invoice waits for the answer (reminder, then the clerks). */
  awaitingReply?: { since: string; periodMs: number; rule: string; reminded?: boolean };
  stage: Stage;
  step: number;
  seq: number;
  taskCount: number;
  requiredApprovals: number;
  rows: RowState[];
  tasks: Task[];
  returnTo?: { stage: Stage; step: number };
  history: HistoryEntry[];
  /** Mails decided but not yet handed to the projection (it writes them to the outbox). */
  outbox: MailIntent[];
  journalEntryId?: string;
}

/** What the workflow must look up (activity `resolveAssignment`) before the process can go on. */
export interface PendingAssignment {
  taskId: string;
  kind: 'open' | 'escalate';
  request: AssignmentRequest;
}

export type { AssignmentOutcome, RoutingRow, Stage };

/** The process's view of time and identity, given by the workflow (deterministic there). */
export interface Clock {
  now(): Date;
}

export function refusal(code: RefusalCode, message: string): Refusal {
  return { code, message };
}

export function nonEmpty(s: unknown): s is string {
  return typeof s === 'string' && s.trim().length > 0;
}

export function suffix(comment: string | undefined): string {
  return comment ? ` (${comment})` : '';
}

export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The open (or resolving) task: at most one at a time. */
export function currentTask(s: ProcessState): Task | undefined {
  return s.tasks.find((t) => t.state !== 'done');
}

/** Rows as routing sees them (dimensions and approval signers). */
export function routingRows(s: ProcessState): RoutingRow[] {
  return s.rows.map((r) => ({ id: r.id, dimensions: r.dimensions, approvers: r.approvals.map((a) => a.by) }));
}

/** Rows that still need an approval signature; a signature barred by segregation of duties never counts. */
export function unsignedRows(s: ProcessState): RowState[] {
  return s.rows.filter((r) => r.approvals.filter((a) => !barredFromApproving(a.by, s.invoice)).length < s.requiredApprovals);
}

/** Every row carries its approval signatures (and there is at least one row). */
export function fullySigned(s: ProcessState): boolean {
  return s.rows.length > 0 && unsignedRows(s).length === 0;
}

export function record(
  s: ProcessState,
  clock: Clock,
  actor: string,
  action: string,
  outcome: HistoryEntry['outcome'],
  message: string,
): void {
  s.history.push({ at: clock.now().toISOString(), actor, action, stage: s.stage, outcome, message });
}

/** Deep copy through JSON: the state is plain data, and queries must not share it. */
export function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
