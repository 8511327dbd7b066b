/** Request and response shapes of the HTTP API, as zod schemas (validation and OpenAPI from one source). */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ACTION_BODIES } from '../workflows/payloads';
import { compareDecimal, format, isCurrency, isDecimal, isNegative, isZero, money, MoneyError, sameAmount, sum } from '../domain/money';

extendZodWithOpenApi(z);

const DECIMAL = /^-?\d{1,15}(\.\d{1,6})?$/;
export const Decimal = z.string().regex(DECIMAL, 'must be a decimal string such as "1234.50"').openapi({ example: '1234.50' });

/** Amounts that carry no currency of their own (thresholds, agreement ranges): compared exactly, never as floats. */
const NonNegativeDecimal = (decimals: number, example: string) =>
  z
    .string()
    .regex(
      new RegExp(`^\\d{1,15}(\\.\\d{1,${decimals}})?$`),
      `must be a non-negative decimal with at most ${decimals} decimals, such as "${example}"`,
    )
    .openapi({ example });

/**
 * Control characters other than tab, line feed and carriage return (C0, DEL and C1, NEL among
 * them): never in text we keep (Postgres refuses NUL). A lone surrogate, which a JSON "\ud800" can
 * carry, counts too: Postgres would store it as U+FFFD, not as sent.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = { test: (v: string) => CONTROL_CHARACTER.test(v) || LONE_SURROGATE.test(v) };
/** A line of text: no control characters at all (no CR/LF smuggled into a header or a log). */
export const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL.test(v) && !/[\r\n\t]/.test(v), 'must be one line of text without control characters');
/** Free text (descriptions, comments): tabs and line breaks allowed, other control characters not. */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL.test(v), 'must not contain control characters');
/** A name as people and suppliers write them: one line, and no markup. */
export const name = (max: number) => line(max).refine((v) => !/[<>]/.test(v), 'must not contain < or >');

/** A calendar date that exists (2026-02-30 does not) in a plausible year. */
export const CalendarDate = z.iso.date().refine((v) => {
  const [year, month, day] = v.split('-').map((p) => Number.parseInt(p, 10)) as [number, number, number];
  return year >= 1900 && year <= 2999 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}, 'must be a date that exists, in the years 1900 to 2999');

/** A percentage from 0 to 100, such as a VAT rate. */
export const Percent = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,4})?$/, 'must be a percentage such as "25" or "12.5"')
  .refine((v) => !isDecimal(v) || compareDecimal(v, '100') <= 0, 'must not be above 100');

export const VendorRef = z.union([
  z.strictObject({ id: z.uuid() }),
  z.strictObject({
    name: name(200),
    vatNumber: line(50).optional(),
    endpointId: line(100).optional(),
    email: z.email().max(254).optional(),
  }),
]);

/** The most lines an invoice may have; above it, intake answers 413. */
export const MAX_LINES = 10_000;

export const InvoiceLineInput = z.strictObject({
  description: text(500),
  quantity: Decimal,
  unitPrice: Decimal,
  net: Decimal,
  taxRate: Percent,
});

const InvoiceFields = z.strictObject({
  vendor: VendorRef,
  documentType: z.enum(['invoice', 'credit_note']).default('invoice'),
  invoiceNumber: line(100),
  invoiceDate: CalendarDate,
  dueDate: CalendarDate,
  currency: z.string().refine(isCurrency, 'must be an ISO 4217 currency code such as "EUR"'),
  net: Decimal,
  tax: Decimal,
  gross: Decimal,
  buyerReference: line(200).optional(),
  orderReference: line(200).optional(),
  contractReference: line(200).optional(),
  confidential: z.boolean().default(false),
  lines: z.array(InvoiceLineInput).max(MAX_LINES).default([]),
  /** false: hold the invoice in the inbox until someone starts it; left out: the company's setting. */
  autoStart: z.boolean().optional(),
});

/**
 * The amount rules of every entrance: amounts valid in the currency, net and tax not negative,
 * a gross (the payable amount) above zero that is net plus tax (a negative total is a credit
 * note), and, where `lineSum`, lines adding up to the net (UBL checks its own line total, which
 * document-level allowances and charges set apart from the net).
 */
function invoiceRules(inv: z.infer<typeof InvoiceFields>, ctx: z.RefinementCtx, lineSum: boolean): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const parse = (value: string, path: (string | number)[]) => {
    try {
      return money(value, inv.currency);
    } catch (e) {
      if (e instanceof MoneyError) issue(path, e.message);
      else throw e;
      return undefined;
    }
  };
  const net = parse(inv.net, ['net']);
  const tax = parse(inv.tax, ['tax']);
  const gross = parse(inv.gross, ['gross']);
  if (net && isNegative(net)) issue(['net'], 'must not be negative; a negative invoice is a credit note with positive amounts');
  if (tax && isNegative(tax)) issue(['tax'], 'must not be negative');
  if (gross && isNegative(gross))
    issue(['gross'], 'must not be negative; send a credit note as documentType "credit_note" with positive amounts');
  else if (gross && isZero(gross)) issue(['gross'], 'must be more than zero: an invoice of nothing has nothing to pay or post');
  if (net && tax && gross && !sameAmount(sum([net, tax], inv.currency), gross)) {
    issue(['gross'], `net ${inv.net} plus tax ${inv.tax} is not the gross ${inv.gross}`);
  }
  const lineNets = inv.lines.map((l, i) => parse(l.net, ['lines', i, 'net']));
  if (lineSum && net && inv.lines.length > 0 && lineNets.every((n) => n !== undefined)) {
    const total = sum(lineNets as NonNullable<(typeof lineNets)[number]>[], inv.currency);
    if (!sameAmount(total, net)) issue(['lines'], `the lines' net amounts add up to ${format(total)}, not the net ${inv.net}`);
  }
  if (inv.dueDate < inv.invoiceDate) issue(['dueDate'], 'must not be before the invoice date');
}

/** A JSON invoice (intake and detail use the same names). */
export const InvoiceIntake = InvoiceFields.superRefine((inv, ctx) => invoiceRules(inv, ctx, true));

/** The same rules for the invoice a UBL document maps to (its line total is checked by the UBL reader). */
export const UblInvoiceIntake = InvoiceFields.superRefine((inv, ctx) => invoiceRules(inv, ctx, false));

export type InvoiceIntakeInput = z.infer<typeof InvoiceIntake>;

// Action bodies come from the workflow's payload schemas, so the API and a Temporal signal refuse the
// same things, control characters included (a NUL in a comment once reached the workflow and could
// never be written to Postgres).
export const ApprovalBody = ACTION_BODIES.approve;
export const RejectBody = ACTION_BODIES.reject;
export const DelegateBody = ACTION_BODIES.delegate;
export const NotMineBody = ACTION_BODIES.notMine;
export const ExceptionsReviewBody = ACTION_BODIES.exceptionsReview;
export const ResolveExceptionBody = ACTION_BODIES.resolveException;
export const RestartBody = ACTION_BODIES.restart;
export const ReassignBody = ACTION_BODIES.reassign;
export const RefreshBody = ACTION_BODIES.refresh;
/** `PATCH /invoices/:id/coding`: the rows and a comment; `version` comes from If-Match. */
export const CodingBody = ACTION_BODIES.codingChanged;
export const ReviewAgainBody = ACTION_BODIES.reviewAgain;
export const OverrideReviewBody = ACTION_BODIES.overrideReview;
/** `POST /invoices/review`: the invoices by id, or by a filter of the invoice list. */
export const BulkReviewBody = z
  .strictObject({
    invoiceIds: z.array(z.uuid()).min(1).max(5000).optional(),
    filter: z
      .strictObject({
        stage: z.enum(['new', 'review', 'approval', 'control', 'copy', 'exceptions_review', 'rejected']).optional(),
        vendorId: z.uuid().optional(),
        review: z.enum(['correct', 'incorrect', 'not_reviewed', 'manually_correct']).optional(),
      })
      .optional(),
  })
  .refine((b) => (b.invoiceIds === undefined) !== (b.filter === undefined), 'give invoiceIds or a filter, not both');
const AssigneeList = z.array(text(200)).max(200);

const DURATION = /^\d{1,9}(ms|s|m|h|d)$/;
const Duration = z.string().regex(DURATION, 'a duration such as "30s", "4h" or "3d"');
export const FlowStepBody = z.strictObject({
  kind: z.enum(['review', 'approval', 'control', 'copy']),
  assignees: z
    .strictObject({
      users: AssigneeList.optional(),
      groups: AssigneeList.optional(),
      roles: AssigneeList.optional(),
      byDimension: z.enum(['costCentre']).optional(),
    })
    .refine(
      (a) => (a.users?.length ?? 0) + (a.groups?.length ?? 0) + (a.roles?.length ?? 0) > 0 || a.byDimension !== undefined,
      'name who the step addresses',
    ),
  mode: z.enum(['any', 'all']).default('any'),
  reminderAfter: Duration.optional(),
  escalateAfter: Duration.optional(),
  escalateTo: z
    .strictObject({ users: AssigneeList.optional(), groups: AssigneeList.optional(), roles: AssigneeList.optional() })
    .optional(),
});
export const FlowTemplateBody = z.strictObject({
  name: text(200),
  isDefault: z.boolean().default(false),
  steps: z.array(FlowStepBody).min(1).max(20),
});
export const VendorPatchBody = z.strictObject({
  flowTemplateId: z.uuid().nullable().optional(),
  codingTemplateId: z.uuid().nullable().optional(),
  email: z.email().nullable().optional(),
});
export const SettingsPatchBody = z.strictObject({
  useWorkqueueSend: z.boolean().optional(),
  allowBatchApproveAll: z.boolean().optional(),
  twoApproverThreshold: NonNegativeDecimal(2, '5000.00').nullable().optional(),
  payableAccount: text(20).optional(),
});

const ReviewFilter = z.enum(['correct', 'incorrect', 'not_reviewed', 'manually_correct']);

export const WorkQueueQuery = z.strictObject({
  queue: z.enum(['personal', 'credit-memo', 'past-due']).default('personal'),
  state: z.enum(['open', 'done']).default('open'),
  review: ReviewFilter.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const InvoiceListQuery = z.strictObject({
  stage: z.string().max(40).optional(),
  review: ReviewFilter.optional(),
  vendorId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const ErrorBody = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.array(z.unknown()) }),
  })
  .openapi('Error');

export const BatchBody = z
  .strictObject({
    action: z.enum(['approve', 'exceptions-review', 'not-mine']),
    invoiceIds: z.union([z.literal('all'), z.array(z.uuid()).min(1).max(5000)]),
    queue: z.enum(['personal', 'credit-memo', 'past-due']).default('personal'),
    message: text(2000).optional(),
  })
  .refine((b) => b.action !== 'exceptions-review' || b.message !== undefined, {
    path: ['message'],
    message: 'exceptions review needs a message, applied to every invoice',
  });

export const AgreementBody = z
  .strictObject({
    vendorId: z.uuid(),
    referencePattern: text(200).nullable().optional(),
    invoiceNumber: text(100).nullable().optional(),
    amountFrom: NonNegativeDecimal(3, '100.00'),
    amountTo: NonNegativeDecimal(3, '500.00'),
    days: z.number().int().min(1).max(3660),
    cumulativeCap: NonNegativeDecimal(3, '10000.00').nullable().optional(),
    resetPeriod: z.enum(['monthly', 'quarterly', 'yearly']).nullable().optional(),
    codingTemplateId: z.uuid(),
    approvalUserId: text(200).nullable().optional(),
    flowTemplateId: z.uuid().nullable().optional(),
    stage: z.enum(['review', 'approval', 'control', 'copy']).nullable().optional(),
  })
  .superRefine((a, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    // A malformed amount already has its own issue; compare only two decimals.
    if (isDecimal(a.amountFrom) && isDecimal(a.amountTo) && compareDecimal(a.amountFrom, a.amountTo) > 0) {
      issue('amountTo', 'must not be below amountFrom');
    }
    if (!a.flowTemplateId && !a.approvalUserId) issue('approvalUserId', 'is required unless a flow template is given');
    if (a.flowTemplateId && !a.stage) issue('stage', 'is required with a flow template: the furthest stage the invoice is sent to');
    if (!a.flowTemplateId && a.stage) issue('stage', 'only applies with a flow template');
  });
