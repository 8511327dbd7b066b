/** The API's answers as the page reads them (see /openapi.json). Money is always a decimal string. */

export interface Me {
  id: string;
  name: string;
  email: string;
  roles: string[];
  groups: string[];
  permissions: string[];
  costCentres: string[];
  confidential: boolean;
  approvalLimits: { currency: string; amount: string | null }[];
  company: { id: string; slug: string; name: string; environment: string };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type ReviewStatus = 'correct' | 'incorrect' | 'not_reviewed' | 'manually_correct';

export interface QueueItem {
  invoiceId: string;
  taskId: string;
  stage: string;
  taskStage: string;
  state: 'open' | 'done';
  vendor: { id: string; name: string };
  invoiceNumber: string;
  gross: string;
  currency: string;
  dueDate: string;
  documentType: 'invoice' | 'credit_note';
  review: ReviewStatus;
  /** The task has other assignees too (not mine is possible). */
  shared?: boolean;
}

export interface Settings {
  useWorkqueueSend: boolean;
  allowBatchApproveAll: boolean;
  twoApproverThreshold: string | null;
  payableAccount: string;
  receivableAccount: string;
  autoRejectIncorrect: boolean;
  autoReauthorize: boolean;
  version: number;
}

export interface BatchResult {
  invoiceId: string;
  ok: boolean;
  moved?: boolean;
  stage?: string;
  reason?: string;
}

export interface ActionResult {
  stage: string;
  moved: boolean;
  message: string;
  openTask?: { id: string; stage: string; assignees: string[] };
}

export interface Mark {
  ruleId: string;
  message: string;
}

export interface Signature {
  by: string;
  at: string;
}

export interface CodingRow {
  id: string;
  rowNo: number;
  kind: 'expense' | 'tax';
  account: string;
  dimensions: Record<string, string>;
  taxCode: string | null;
  amount: string;
  reviewSignature: Signature | null;
  approvalSignature: Signature | null;
  reviewMarks: Mark[];
}

export interface Task {
  id: string;
  stage: string;
  mode: 'any' | 'all';
  state: 'open' | 'done';
  assignees: string[];
  actedBy: string[];
  action: string | null;
  openedAt: string;
  closedAt: string | null;
}

export interface Attachment {
  reference: string;
  description: string | null;
  filename: string | null;
  mimeCode: string | null;
  /** Size in bytes of an embedded attachment (the content is in the original document). */
  embeddedBytes: number | null;
  uri: string | null;
}

export interface InvoiceDetail {
  id: string;
  workflowId: string;
  stage: string;
  codingVersion: number;
  vendor: { id: string; name: string; vatNumber: string | null; endpointId: string | null; email: string | null };
  documentType: 'invoice' | 'credit_note';
  invoiceNumber: string;
  invoiceDate: string;
  dueDate: string;
  currency: string;
  net: string;
  tax: string;
  gross: string;
  buyerReference: string | null;
  orderReference: string | null;
  contractReference: string | null;
  confidential: boolean;
  source: { format: string; customizationId: string | null; profileId: string | null; document: string };
  attachments: Attachment[];
  lines: { description: string; quantity: string; unitPrice: string; net: string; taxRate: string }[];
  codingRows: CodingRow[];
  review: {
    status: ReviewStatus;
    fields: Record<string, Mark[]>;
    failed: unknown[];
    comment?: string | null;
    reviewedBy?: string | null;
    reviewedAt?: string | null;
  };
  tasks: Task[];
  audit: { at: string; actor: string; kind: string; message: string }[];
  posting: {
    id: string;
    postedAt: string;
    lines: { account: string; debit: string; credit: string; dimensions: Record<string, string>; description: string | null }[];
  } | null;
}

export interface User {
  id: string;
  name: string;
  email: string;
  roles: string[];
  groups: string[];
  costCentres: string[];
  confidential: boolean;
  active: boolean;
  permissions: string[];
  approvalLimits: { currency: string; amount: string | null }[];
  version: number;
}

export interface Vendor {
  id: string;
  name: string;
  vatNumber: string | null;
  flowTemplateId: string | null;
  codingTemplateId: string | null;
}

export interface Agreement {
  id: string;
  vendorId: string;
  referencePattern: string | null;
  invoiceNumber: string | null;
  amountFrom: string;
  amountTo: string;
  days: number;
  cumulativeCap: string | null;
  cumulativeTotal: string;
  resetPeriod: 'monthly' | 'quarterly' | 'yearly' | null;
  codingTemplateId: string;
  approvalUserId: string | null;
  flowTemplateId: string | null;
  stage: string | null;
  active: boolean;
  version: number;
}

export interface FlowStep {
  kind: 'review' | 'approval' | 'control' | 'copy';
  assignees: { users?: string[]; groups?: string[]; roles?: string[]; byDimension?: 'costCentre' };
  mode: 'any' | 'all';
  reminderAfter?: string;
  escalateAfter?: string;
  escalateTo?: { users?: string[]; groups?: string[]; roles?: string[] };
}

export interface FlowTemplate {
  id: string;
  name: string;
  isDefault: boolean;
  steps: FlowStep[];
  version: number;
}

export interface CodingTemplate {
  id: string;
  name: string;
  isDefault: boolean;
  active: boolean;
  rows: { account: string; percent: string; dimensions?: Record<string, string>; taxCode?: string }[];
  taxAccount: string;
  taxCode: string | null;
  version: number;
}

export type ReviewCondition =
  | { kind: 'field'; field: string; test: string; value?: string }
  | { kind: 'accountsNeedDimension'; from: string; to: string; dimension: string }
  | { kind: 'costCentreIn'; costCentres: string[] }
  | { kind: 'amountNeedsReference'; above: string; reference: 'contractReference' | 'orderReference' };

export interface ReviewRule {
  id: string;
  scope: 'company' | 'environment';
  environment: string | null;
  version: number;
  active: boolean;
  name: string;
  message: string;
  applicability: { vendorIds?: string[]; documentType?: 'invoice' | 'credit_note'; amountFrom?: string; amountTo?: string };
  conditions: ReviewCondition[];
  requires: string[];
}

export interface Group {
  id: string;
  name: string;
  members: string[];
  version: number;
}

export interface StartCondition {
  field: string;
  test: string;
  value?: string;
}

export type StartOutcome =
  | { kind: 'assign'; to: { users?: string[]; groups?: string[]; roles?: string[] } }
  | { kind: 'mail'; to: 'supplier' | 'department'; address?: string; subject: string; body: string; awaitReply?: string }
  | { kind: 'reject'; reason: string };

export interface StartRule {
  id: string;
  position: number;
  name: string;
  active: boolean;
  conditions: StartCondition[];
  outcome: StartOutcome;
  requires: string[];
  version: number;
}
