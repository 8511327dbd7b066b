/**
 * The payload of every action, as one zod schema each: the workflow validates Updates and Signals
 * with them (a Signal from the Web UI is as untrusted as a request), and the API derives its
 * request bodies from them, so both entrances refuse the same things.
 */
import { z } from 'zod';
import { ROUTABLE_STAGES } from '../domain/stages';

const text = (max: number) => z.string().trim().min(1).max(max);
const by = text(200);
/** The task the action answers; acting on a task that is no longer open is refused. */
const taskId = text(300).optional();
const comment = z.string().max(2000).optional();

export const AssigneeSpecSchema = z
  .strictObject({
    users: z.array(text(200)).max(200).optional(),
    groups: z.array(text(200)).max(200).optional(),
    roles: z.array(text(200)).max(200).optional(),
  })
  .refine((a) => (a.users?.length ?? 0) + (a.groups?.length ?? 0) + (a.roles?.length ?? 0) > 0, 'name at least one user, group or role');

/** Each action's fields as the API's request bodies take them (the API adds `by`: the caller). */
const fields = {
  approve: { taskId, comment },
  reject: { taskId, reason: text(2000) },
  delegate: { taskId, to: text(200), comment },
  notMine: { taskId },
  exceptionsReview: { taskId, message: text(2000) },
  resolveException: { taskId, comment },
  restart: { stage: z.enum(ROUTABLE_STAGES).optional(), reason: z.string().max(2000).optional() },
  reassign: {
    taskId,
    to: AssigneeSpecSchema.optional(),
    stage: z.enum(ROUTABLE_STAGES).optional(),
    reason: z.string().max(2000).optional(),
  },
  /** Re-resolves the open task's assignees from current data (after users, limits or clearance changed). */
  refresh: { reason: z.string().max(2000).optional() },
};

const reassignTarget = [
  (r: { to?: unknown; stage?: unknown }) => r.to !== undefined || r.stage !== undefined,
  'give `to` (new assignees) or `stage` (another step), or both',
] as const;

/** The request bodies of the API's action routes. */
export const ACTION_BODIES = {
  approve: z.strictObject(fields.approve),
  reject: z.strictObject(fields.reject),
  delegate: z.strictObject(fields.delegate),
  notMine: z.strictObject(fields.notMine),
  exceptionsReview: z.strictObject(fields.exceptionsReview),
  resolveException: z.strictObject(fields.resolveException),
  restart: z.strictObject(fields.restart),
  reassign: z.strictObject(fields.reassign).refine(...reassignTarget),
  refresh: z.strictObject(fields.refresh),
};

export const ApprovePayloadSchema = z.strictObject({ by, ...fields.approve });
export const RejectPayloadSchema = z.strictObject({ by, ...fields.reject });
export const DelegatePayloadSchema = z.strictObject({ by, ...fields.delegate });
export const NotMinePayloadSchema = z.strictObject({ by, ...fields.notMine });
export const ExceptionsReviewPayloadSchema = z.strictObject({ by, ...fields.exceptionsReview });
export const ResolveExceptionPayloadSchema = z.strictObject({ by, ...fields.resolveException });
export const RestartPayloadSchema = z.strictObject({ by, ...fields.restart });
export const ReassignPayloadSchema = z.strictObject({ by, ...fields.reassign }).refine(...reassignTarget);
export const RefreshPayloadSchema = z.strictObject({ by, ...fields.refresh });

export type ApprovePayload = z.infer<typeof ApprovePayloadSchema>;
export type RejectPayload = z.infer<typeof RejectPayloadSchema>;
export type DelegatePayload = z.infer<typeof DelegatePayloadSchema>;
export type NotMinePayload = z.infer<typeof NotMinePayloadSchema>;
export type ExceptionsReviewPayload = z.infer<typeof ExceptionsReviewPayloadSchema>;
export type ResolveExceptionPayload = z.infer<typeof ResolveExceptionPayloadSchema>;
export type RestartPayload = z.infer<typeof RestartPayloadSchema>;
export type ReassignPayload = z.infer<typeof ReassignPayloadSchema>;
export type RefreshPayload = z.infer<typeof RefreshPayloadSchema>;
export type AssigneeSpecPayload = z.infer<typeof AssigneeSpecSchema>;

/** Each action's payload schema, by action name. */
export const PAYLOAD_SCHEMAS = {
  approve: ApprovePayloadSchema,
  reject: RejectPayloadSchema,
  delegate: DelegatePayloadSchema,
  notMine: NotMinePayloadSchema,
  exceptionsReview: ExceptionsReviewPayloadSchema,
  resolveException: ResolveExceptionPayloadSchema,
  restart: RestartPayloadSchema,
  reassign: ReassignPayloadSchema,
  refresh: RefreshPayloadSchema,
} as const;

/** The problems with a payload in one line, for a refusal message. */
export function payloadProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || 'payload'}: ${i.message}`).join('; ');
}
