/**
 * The routing vocabulary, defined once: the database schema, the workflow contract, the API
 * schemas and the routing rules all import these lists.
 */

/** Where an invoice stands. */
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

/** The kinds of step a flow template is made of; each is also the stage of its task. */
export const STEP_KINDS = ['review', 'approval', 'control', 'copy'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** `any`: one assignee finishes the task; `all`: every assignee must act. */
export const TASK_MODES = ['any', 'all'] as const;
export type TaskMode = (typeof TASK_MODES)[number];

/** Stages in which nothing is left for people to do. */
export const CLOSED_STAGES: readonly Stage[] = ['payment', 'posted', 'cancelled'];

/** Stages an admin may restart an invoice from or move it to. */
export const ROUTABLE_STAGES = ['new', ...STEP_KINDS] as const;
export type RoutableStage = (typeof ROUTABLE_STAGES)[number];

export const ROLES = ['clerk', 'reviewer', 'approver', 'admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** Permissions a user may be granted beyond the roles. */
export const PERMISSIONS = [
  /** Mark an invoice's review correct by hand. */
  'review:override',
  /** Write the review rules of the whole environment. */
  'environment:admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];
