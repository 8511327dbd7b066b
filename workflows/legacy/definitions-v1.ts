/**
 * v1 contract types, frozen with the v1 workflow: what `prepareInvoice` resolved once at intake
 * (routing v2 resolves assignees and rights when each task opens instead).
 */
import type { StepKind, TaskMode } from '../../domain/stages';

export interface ResolvedStep {
  kind: StepKind;
  mode: TaskMode;
  /** User ids addressed by the step, resolved from users, groups, roles and dimensions. */
  assignees: string[];
  /** Approval steps: for each assignee, the coding rows the user has the right to sign. */
  signable: Record<string, string[]>;
  reminderAfterMs?: number;
  escalateAfterMs?: number;
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
  agreement?: { id: string; touchless: boolean; stage?: StepKind };
  codingProblem?: string;
  clerks: string[];
  admins: string[];
  steps: ResolvedStep[];
  requiredApprovals?: number;
}

/** What the v1 workflow looked up (through an activity) about a delegate. */
export interface DelegateLookup {
  found: boolean;
  reason?: string;
  /** Rows the delegate may sign in the current approval step. */
  signable: string[];
}
