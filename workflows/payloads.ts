/**
 * The payload of every action, as one zod schema each: the workflow validates Updates and Signals
 * with them (a Signal from the Web UI is as untrusted as a request), and the API derives its
 * request bodies from them, so both entrances refuse the same things.
 */
import { z } from 'zod';
import { buildPayloadSchemas } from './payload-schemas';

const built = buildPayloadSchemas();

export const { AssigneeSpecSchema, ACTION_BODIES, PAYLOAD_SCHEMAS } = built;

export type ApprovePayload = z.infer<typeof PAYLOAD_SCHEMAS.approve>;
export type RejectPayload = z.infer<typeof PAYLOAD_SCHEMAS.reject>;
export type DelegatePayload = z.infer<typeof PAYLOAD_SCHEMAS.delegate>;
export type NotMinePayload = z.infer<typeof PAYLOAD_SCHEMAS.notMine>;
export type ExceptionsReviewPayload = z.infer<typeof PAYLOAD_SCHEMAS.exceptionsReview>;
export type ResolveExceptionPayload = z.infer<typeof PAYLOAD_SCHEMAS.resolveException>;
export type RestartPayload = z.infer<typeof PAYLOAD_SCHEMAS.restart>;
export type ReassignPayload = z.infer<typeof PAYLOAD_SCHEMAS.reassign>;
export type RefreshPayload = z.infer<typeof PAYLOAD_SCHEMAS.refresh>;
export type CodingChangedPayload = z.infer<typeof PAYLOAD_SCHEMAS.codingChanged>;
export type CodingRowPayload = CodingChangedPayload['rows'][number];
export type ReviewAgainPayload = z.infer<typeof PAYLOAD_SCHEMAS.reviewAgain>;
export type OverrideReviewPayload = z.infer<typeof PAYLOAD_SCHEMAS.overrideReview>;
export type AssigneeSpecPayload = z.infer<typeof AssigneeSpecSchema>;
