/**
 * Builds the payload schema of every action (see payloads.ts). A factory rather than module
 * constants so the worker can preload one set, shared by every workflow in its V8 context,
 * without the SDK freezing the zod objects (zod defines some of their methods lazily).
 */
import { z } from 'zod';
import { ROUTABLE_STAGES } from '../domain/stages';

/**
 * Control characters (tab, line feed and carriage return aside) and lone surrogates: Postgres
 * cannot store a NUL, and none belongs in a comment or an id. A Signal from the Web UI carrying
 * one is refused here instead of stalling the invoice on a projection that can never be written.
 */
const UNSTORABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function buildPayloadSchemas() {
  const storable = (s: z.ZodString) => s.refine((v) => !UNSTORABLE.test(v), 'must not contain control characters');
  const text = (max: number) => storable(z.string().trim().min(1).max(max));
  const by = text(200);
  /** The task the action answers; acting on a task that is no longer open is refused. */
  const taskId = text(300).optional();
  const comment = storable(z.string().max(2000)).optional();
  const CodingRowSchema = z.strictObject({
    kind: z.enum(['expense', 'tax']),
    account: text(40),
    dimensions: z.record(storable(z.string().trim().min(1).max(60)), text(100)).default({}),
    taxCode: text(40).nullable().optional(),
    amount: z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'must be a decimal string such as "1234.50"'),
  });

  const AssigneeSpecSchema = z
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
    restart: { stage: z.enum(ROUTABLE_STAGES).optional(), reason: storable(z.string().max(2000)).optional() },
    reassign: {
      taskId,
      to: AssigneeSpecSchema.optional(),
      stage: z.enum(ROUTABLE_STAGES).optional(),
      reason: storable(z.string().max(2000)).optional(),
    },
    /** Re-resolves the open task's assignees from current data (after users, limits or clearance changed). */
    refresh: { reason: storable(z.string().max(2000)).optional() },
    /** Replaces the coding rows (the version is the one the editor saw: a stale one is refused). */
    codingChanged: { version: z.number().int().min(0), rows: z.array(CodingRowSchema).min(1).max(500), comment },
    /** Reviews the invoice again with the rules in force now. */
    reviewAgain: { comment },
    /** Marks the invoice correct by hand (permission review:override); it is not reviewed automatically any more. */
    overrideReview: { status: z.literal('manually_correct'), comment: text(2000) },
  };

  const reassignTarget = [
    (r: { to?: unknown; stage?: unknown }) => r.to !== undefined || r.stage !== undefined,
    'give `to` (new assignees) or `stage` (another step), or both',
  ] as const;

  /** The request bodies of the API's action routes. */
  const ACTION_BODIES = {
    approve: z.strictObject(fields.approve),
    reject: z.strictObject(fields.reject),
    delegate: z.strictObject(fields.delegate),
    notMine: z.strictObject(fields.notMine),
    exceptionsReview: z.strictObject(fields.exceptionsReview),
    resolveException: z.strictObject(fields.resolveException),
    restart: z.strictObject(fields.restart),
    reassign: z.strictObject(fields.reassign).refine(...reassignTarget),
    refresh: z.strictObject(fields.refresh),
    codingChanged: z.strictObject(fields.codingChanged),
    reviewAgain: z.strictObject(fields.reviewAgain),
    overrideReview: z.strictObject(fields.overrideReview),
  };

  const ApprovePayloadSchema = z.strictObject({ by, ...fields.approve });
  const RejectPayloadSchema = z.strictObject({ by, ...fields.reject });
  const DelegatePayloadSchema = z.strictObject({ by, ...fields.delegate });
  const NotMinePayloadSchema = z.strictObject({ by, ...fields.notMine });
  const ExceptionsReviewPayloadSchema = z.strictObject({ by, ...fields.exceptionsReview });
  const ResolveExceptionPayloadSchema = z.strictObject({ by, ...fields.resolveException });
  const RestartPayloadSchema = z.strictObject({ by, ...fields.restart });
  const ReassignPayloadSchema = z.strictObject({ by, ...fields.reassign }).refine(...reassignTarget);
  const RefreshPayloadSchema = z.strictObject({ by, ...fields.refresh });
  const CodingChangedPayloadSchema = z.strictObject({ by, ...fields.codingChanged });

  return {
    AssigneeSpecSchema,
    ACTION_BODIES,
    PAYLOAD_SCHEMAS: {
      approve: ApprovePayloadSchema,
      reject: RejectPayloadSchema,
      delegate: DelegatePayloadSchema,
      notMine: NotMinePayloadSchema,
      exceptionsReview: ExceptionsReviewPayloadSchema,
      resolveException: ResolveExceptionPayloadSchema,
      restart: RestartPayloadSchema,
      reassign: ReassignPayloadSchema,
      refresh: RefreshPayloadSchema,
      codingChanged: CodingChangedPayloadSchema,
      reviewAgain: z.strictObject({ by, ...fields.reviewAgain }),
      overrideReview: z.strictObject({ by, ...fields.overrideReview }),
    },
  };
}
