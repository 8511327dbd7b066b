/**
 * The payload of every action, as one zod schema each: the workflow validates Updates and Signals
 * with them (a Signal from the Web UI is as untrusted as a request), and the API derives its
 * request bodies from them, so both entrances refuse the same things.
 */
import { z } from 'zod';
import { buildPayloadSchemas } from './payload-schemas';

const built = buildPayloadSchemas();

export const { AssigneeSpecSchema, ACTION_BODIES, PAYLOAD_SCHEMAS } = built;
const {
  approve: ApprovePayloadSchema,
  reject: RejectPayloadSchema,
  delegate: DelegatePayloadSchema,
  notMine: NotMinePayloadSchema,
  exceptionsReview: ExceptionsReviewPayloadSchema,
  resolveException: ResolveExceptionPayloadSchema,
  restart: RestartPayloadSchema,
  reassign: ReassignPayloadSchema,
  refresh: RefreshPayloadSchema,
} = PAYLOAD_SCHEMAS;

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
