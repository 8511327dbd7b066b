/**
 * Model-based test of the routing rules (issue 11): a random company (with a partner company in
 * another environment), a random flow and a random invoice, then random sequences of every action
 * by random users, driven through the pure process as the workflow drives it. After every step the
 * SPEC 2.0 invariants of workflows/process/invariants.ts must hold, and the process must not throw.
 *
 * MODEL_RUNS (default 1000) sets the number of sequences; MODEL_SEED with MODEL_PATH (and
 * MODEL_REPLAY_PATH, the commands' replayPath) replays a failure fast-check reported.
 */
import fc from 'fast-check';
import type { ZodType } from 'zod';
import type { ApprovalLimit } from '../../domain/approval';
import type { AssigneeSpec } from '../../domain/flow';
import { approvalRights, requiredApprovalsFor, type DirectoryUser } from '../../domain/routing/assign';
import { ROLES, ROUTABLE_STAGES, type Role, type RoutableStage, type Stage, type StepKind, type TaskMode } from '../../domain/stages';
import { PAYLOAD_SCHEMAS } from '../../workflows/payloads';
import type { Action, InvoiceProcess, Preparation, Route, RouteStep } from '../../workflows/process';
import { livenessViolations, paymentViolations, signatureViolations, type World } from '../../workflows/process/invariants';
import { act, makeClock, settle, start } from '../process-driver';

const COMPANY = 'c0000000-0000-4000-8000-000000000001';
/** A company in another environment; its users take delegated tasks only when `partnered`. */
const PARTNER = 'c0000000-0000-4000-8000-000000000002';
const DIGITS = { EUR: 2, JPY: 0, BHD: 3 } as const;
type Currency = keyof typeof DIGITS;
const COST_CENTRES = ['CC1', 'CC2', 'CC3'];
const GROUPS = ['g1', 'g2'];
const MAX_USERS = 7;
/** Every id a flow, an action or a delegation may name: company users u*, partner users p*, and a user who does not exist. */
const NAMES = [...Array.from({ length: MAX_USERS + 1 }, (_, i) => `u${i}`), 'p0', 'p1', 'ghost'];
const LIMITS = ['0.01', '100', '500', '999.999', '1000', '1000.005', '5000', '250000', '10000000'];
const ROLE_ODDS: [Role, number][] = [
  ['clerk', 35],
  ['reviewer', 30],
  ['approver', 60],
  ['admin', 20],
  ['auditor', 10],
];
const THRESHOLDS = ['1000.005', '500', '0.01', '5000', '100000'];
const RUNS = Number(process.env.MODEL_RUNS ?? 1000);
const MAX_STEPS = 40;

// ---------------------------------------------------------------- the random world

interface Scenario {
  /** The company's users and the partner company's. */
  directory: DirectoryUser[];
  partnered: boolean;
  threshold: string | null;
  /** The route as the flow template says (what `loadRoute` answers on registration and restart). */
  route: Route;
  prep: Preparation;
}

function weighted<T>(...options: [T, number][]): fc.Arbitrary<T> {
  return fc.oneof(...options.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
}

function sometimes<T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary, weight: percent });
}

/** Minor units as a decimal string with the currency's digits: 1000005 BHD is "1000.005". */
function decimalOf(units: number, digits: number): string {
  const s = String(units).padStart(digits + 1, '0');
  return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

function grossArb(currency: Currency): fc.Arbitrary<string> {
  const digits = DIGITS[currency];
  const scale = 10 ** digits;
  // Amounts on and next to the limits and thresholds, besides anything up to 20,000.
  const edges = [1, 500 * scale, 1000 * scale, 5000 * scale, 1000 * scale + 1, ...(digits === 3 ? [1_000_005, 1_000_006] : [])];
  return fc
    .oneof({ arbitrary: fc.integer({ min: 1, max: 20_000 * scale }), weight: 3 }, { arbitrary: fc.constantFrom(...edges), weight: 1 })
    .map((units) => decimalOf(units, digits));
}

const limitArb: fc.Arbitrary<ApprovalLimit> = fc.record({
  currency: weighted(['EUR', 1], ['JPY', 1], ['BHD', 1], ['*', 2]),
  amount: fc.option(fc.constantFrom(...LIMITS), { nil: null, freq: 3 }),
});

/** Each role with its own odds: many approvers, fewer admins. */
const rolesArb: fc.Arbitrary<Role[]> = fc
  .tuple(...ROLE_ODDS.map(([, percent]) => weighted([true, percent], [false, 100 - percent])))
  .map((has) => ROLE_ODDS.filter((_, i) => has[i]).map(([role]) => role));

const userArb = fc.record({
  roles: rolesArb,
  groups: fc.subarray(GROUPS),
  costCentres: fc.oneof(fc.constant<string[]>([]), fc.subarray(COST_CENTRES, { minLength: 1 })),
  confidential: fc.boolean(),
  active: weighted([true, 6], [false, 1]),
  approvalLimits: fc.array(limitArb, { minLength: 1, maxLength: 2 }),
});
type UserShape = typeof userArb extends fc.Arbitrary<infer U> ? U : never;

function nonEmpty(spec: AssigneeSpec): boolean {
  return (spec.users?.length ?? 0) + (spec.groups?.length ?? 0) + (spec.roles?.length ?? 0) > 0 || spec.byDimension !== undefined;
}

/** Who a step, an escalation or a reassign names; as the API takes it (at least someone named). */
function specArb(byDimension: boolean): fc.Arbitrary<AssigneeSpec> {
  return fc
    .record({
      users: fc.subarray(NAMES, { maxLength: 3 }),
      groups: fc.subarray(GROUPS),
      roles: fc.subarray([...ROLES], { maxLength: 2 }),
      byDimension: byDimension ? weighted([false, 3], [true, 1]) : fc.constant(false),
    })
    .map(({ users, groups, roles, byDimension: dimension }) => ({
      ...(users.length > 0 ? { users } : {}),
      ...(groups.length > 0 ? { groups } : {}),
      ...(roles.length > 0 ? { roles } : {}),
      ...(dimension ? { byDimension: 'costCentre' } : {}),
    }))
    .filter(nonEmpty);
}

const stepArb: fc.Arbitrary<RouteStep> = fc
  .record({
    kind: weighted<StepKind>(['review', 2], ['approval', 4], ['control', 1], ['copy', 1]),
    mode: weighted<TaskMode>(['any', 2], ['all', 1]),
    assignees: specArb(true),
    reminderAfterMs: sometimes(fc.constantFrom(3_600_000, 86_400_000), 25),
    escalateAfterMs: sometimes(fc.constantFrom(7_200_000, 172_800_000), 50),
    escalateTo: sometimes(specArb(false), 50),
  })
  .map(({ reminderAfterMs, escalateAfterMs, escalateTo, ...step }) => ({
    ...step,
    ...(reminderAfterMs !== undefined ? { reminderAfterMs } : {}),
    ...(escalateAfterMs !== undefined ? { escalateAfterMs } : {}),
    ...(escalateTo !== undefined ? { escalateTo } : {}),
  }));

/** A flow template as `routeOf` turns it into a route: without an approval step it carries the problem. */
const routeArb: fc.Arbitrary<Route> = fc.oneof(
  {
    weight: 15,
    arbitrary: fc
      .tuple(fc.array(stepArb, { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 9 }))
      .map(([drawn, at, roll]) => {
        const steps =
          roll > 0 && !drawn.some((s) => s.kind === 'approval')
            ? drawn.map((s, i) => (i === at % drawn.length ? { ...s, kind: 'approval' as const } : s))
            : drawn;
        const route: Route = { flowTemplateId: 'f1', name: 'Flow', steps };
        if (!steps.some((s) => s.kind === 'approval')) {
          route.problem =
            'The flow template "Flow" has no approval step, and an invoice is never paid without approval; an admin must add one';
        }
        return route;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constant<Route>({
      steps: [],
      problem:
        'No flow template applies: the vendor has none and the company has no default; an admin must set one up before it can be registered',
    }),
  },
);

const rowArb = fc.record({
  tax: weighted([false, 3], [true, 1]),
  costCentre: fc.option(fc.constantFrom(...COST_CENTRES), { nil: undefined, freq: 5 }),
  project: fc.option(fc.constant('P1'), { nil: undefined, freq: 2 }),
});

const invoiceArb = fc.constantFrom<Currency>('EUR', 'JPY', 'BHD').chain((currency) =>
  fc.record({
    currency: fc.constant(currency),
    gross: grossArb(currency),
    confidential: weighted([false, 3], [true, 1]),
    registeredBy: fc.option(fc.nat(), { nil: undefined, freq: 8 }),
  }),
);

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    users: fc.array(userArb, { minLength: 2, maxLength: MAX_USERS }),
    admin: userArb,
    adminAt: fc.nat(),
    partners: fc.array(userArb, { maxLength: 2 }),
    partnered: fc.boolean(),
    threshold: fc.option(fc.constantFrom(...THRESHOLDS), { nil: null, freq: 2 }),
    invoice: invoiceArb,
    rows: fc.array(rowArb, { minLength: 1, maxLength: 4 }),
    route: routeArb,
    agreement: sometimes(
      fc.record({ touchless: fc.boolean(), signed: weighted([true, 4], [false, 1]), signer: fc.nat(), stage: fc.nat() }),
      25,
    ),
    codingProblem: weighted([false, 19], [true, 1]),
    /** Mostly one approver who may sign anything, so that invoices get as far as payment. */
    chief: sometimes(fc.nat(), 70),
  })
  .map((raw) => {
    // The product refuses to deactivate the last admin: one is always active and cleared.
    const admin: UserShape = {
      ...raw.admin,
      roles: [...new Set([...raw.admin.roles, 'admin' as const])],
      active: true,
      confidential: true,
    };
    const shapes = raw.users.map((u, i): UserShape =>
      i === (raw.chief ?? -1) % raw.users.length
        ? {
            ...u,
            roles: [...new Set([...u.roles, 'approver' as const])],
            costCentres: [],
            approvalLimits: [{ currency: '*', amount: null }],
          }
        : u,
    );
    shapes.splice(raw.adminAt % (shapes.length + 1), 0, admin);
    const company = shapes.map((u, i): DirectoryUser => ({ id: `u${i}`, companyId: COMPANY, ...u }));
    const partners = raw.partners.map((u, i): DirectoryUser => ({ id: `p${i}`, companyId: PARTNER, ...u }));
    const registeredBy = raw.invoice.registeredBy === undefined ? undefined : company[raw.invoice.registeredBy % company.length]!.id;
    const invoice = {
      companyId: COMPANY,
      currency: raw.invoice.currency,
      gross: raw.invoice.gross,
      confidential: raw.invoice.confidential,
      ...(registeredBy ? { registeredBy } : {}),
    };
    const rows = raw.rows.map((r, i) => ({
      id: `r${i + 1}`,
      kind: r.tax ? ('tax' as const) : ('expense' as const),
      dimensions: r.tax ? {} : { ...(r.costCentre ? { costCentre: r.costCentre } : {}), ...(r.project ? { project: r.project } : {}) },
    }));
    const rules = { twoApproverThreshold: raw.threshold };
    const prep: Preparation = { invoice, rows, route: raw.route };

    const a = raw.agreement;
    if (a) {
      // Only what prepareRouting gives: a signer resolveAssignment's rules accept on every row (the
      // approver role, limit, cost centres, clearance, not the registrant), touchless only when one
      // signature is enough, a flow agreement's stage one of its flow's steps.
      const signers = company.filter(
        (u) =>
          u.active &&
          (!invoice.confidential || u.confidential) &&
          approvalRights(
            u,
            invoice,
            rows.map((r) => ({ ...r, approvers: [] })),
          ).length === rows.length,
      );
      const signer = signers.length > 0 ? signers[a.signer % signers.length]!.id : undefined;
      const touchless = a.touchless && signer !== undefined && requiredApprovalsFor(invoice.gross, rules) === 1;
      const flow = !touchless && raw.route.steps.length > 0;
      if (touchless || flow) {
        const signs = signer !== undefined && (touchless || a.signed);
        prep.rows = rows.map((r) => ({ ...r, ...(signs ? { approvedBy: signer, agreementId: 'a1' } : {}) }));
        prep.agreement = touchless
          ? { id: 'a1', touchless }
          : { id: 'a1', touchless, stage: raw.route.steps[a.stage % raw.route.steps.length]!.kind };
        if (touchless) prep.route = { steps: [] };
      }
    }
    if (!prep.agreement && raw.codingProblem) prep.codingProblem = 'The coding rows add up to 10.00 but the gross amount is different';
    return { directory: [...company, ...partners], partnered: raw.partnered, threshold: raw.threshold, route: raw.route, prep };
  });

// ---------------------------------------------------------------- running a sequence

/** What the test keeps beside the process: the world it changes, and what the process showed last. */
interface Model {
  world: World;
  clock: ReturnType<typeof makeClock>;
  /** Each step as it was resolved and answered, for the failure message. */
  trace: string[];
  stage: Stage;
  timerDue: boolean;
}

function worldOf(s: Scenario): World {
  return {
    directory: structuredClone(s.directory),
    partnered: (_invoiceCompany, userCompany) => s.partnered && userCompany === PARTNER,
    rules: { twoApproverThreshold: s.threshold },
    route: structuredClone(s.route),
  };
}

function activeAdmins(world: World): string[] {
  return world.directory.filter((u) => u.companyId === COMPANY && u.active && u.roles.includes('admin')).map((u) => u.id);
}

/** A broken invariant, with the steps that led to it. */
class ModelFailure extends Error {}

function fail(m: Model, message: string): never {
  throw new ModelFailure(`${message}\n  steps:\n    ${m.trace.join('\n    ')}`);
}

function signers(p: InvoiceProcess): Map<string, string[]> {
  return new Map(p.raw.rows.map((r) => [r.id, r.approvals.map((a) => a.by)]));
}

function where(p: InvoiceProcess): string {
  const task = p.task;
  const on = task ? `; ${task.purpose} task ${task.id} (${task.mode}) waits on [${p.waitingOn.join(', ')}]` : '';
  const signed = p.raw.rows.map((r) => `${r.id}:${r.approvals.map((a) => a.by).join('+') || '-'}`).join(' ');
  return `stage ${p.stage}${on}; signatures ${signed}`;
}

/** The invariants after a step: liveness, payment safety, and every signature given in this step, judged with the world now. */
function assertInvariants(m: Model, p: InvoiceProcess, before: Map<string, string[]>): void {
  const problems = [...livenessViolations(m.world, p), ...paymentViolations(m.world, p)];
  for (const row of p.raw.rows) {
    const earlier = before.get(row.id) ?? [];
    for (const { by } of row.approvals) if (!earlier.includes(by)) problems.push(...signatureViolations(m.world, p, row.id, by));
  }
  if (problems.length > 0) fail(m, `invariant broken: ${problems.join('; ')}`);
  m.stage = p.stage;
  m.timerDue = p.nextTimer() !== undefined;
}

/** One step: perform it (it must not throw), note it, and assert the invariants. */
function step(m: Model, p: InvoiceProcess, label: string, perform: () => string): void {
  const before = signers(p);
  let said: string;
  try {
    said = perform();
  } catch (e) {
    if (e instanceof ModelFailure) throw e;
    fail(m, `${label} threw: ${e instanceof Error ? e.stack : String(e)}`);
  }
  m.clock.advance(60_000);
  m.trace.push(`${label}: ${said}; ${where(p)}`);
  assertInvariants(m, p, before);
}

type Kind = Action['kind'];
type Via = 'update' | 'signal';

/** An action as the workflow takes it (payload validated, lookups, check, apply, settle); signals and admin actions need an admin. */
function perform(m: Model, p: InvoiceProcess, kind: Kind, payload: Action['payload'], via: Via): string {
  // The workflow lets only valid payloads through; a failure here is a bug in this test.
  (PAYLOAD_SCHEMAS[kind] as ZodType).parse(payload);
  const outcome = act(p, m.world, { kind, payload, via } as Parameters<typeof act>[2]);
  const adminOnly = via === 'signal' || kind === 'restart' || kind === 'reassign' || kind === 'refresh';
  if (adminOnly && outcome.ok && !activeAdmins(m.world).includes(payload.by)) {
    fail(m, `${kind} by ${payload.by} (${via}) was accepted, but ${payload.by} is not an active admin of the company`);
  }
  const said = outcome.ok ? `ok, ${outcome.result.message}` : `refused ${outcome.refusal.code}`;
  return `${kind} ${JSON.stringify(payload)} via ${via}: ${said}`;
}

class Step implements fc.Command<Model, InvoiceProcess> {
  constructor(
    private readonly label: string,
    private readonly doIt: (m: Model, p: InvoiceProcess) => string,
    private readonly when: (m: Readonly<Model>) => boolean = () => true,
  ) {}
  check(m: Readonly<Model>): boolean {
    return this.when(m);
  }
  run(m: Model, p: InvoiceProcess): void {
    step(m, p, this.label, () => this.doIt(m, p));
  }
  toString(): string {
    return this.label;
  }
}

// ---------------------------------------------------------------- the commands

/** Who acts: mostly someone the task waits on (or an admin, for the admin actions), else anybody, even a stranger. */
interface Who {
  from: 'waiting' | 'admin' | 'anyone';
  pick: number;
}
const whoArb = (bias: 'waiting' | 'admin'): fc.Arbitrary<Who> =>
  fc.record({ from: weighted<Who['from']>([bias, 7], ['anyone', 3]), pick: fc.nat({ max: 99 }) });

function actor(m: Model, p: InvoiceProcess, who: Who): string {
  const waiting = p.waitingOn;
  const pool = who.from === 'waiting' && waiting.length > 0 ? waiting : who.from === 'admin' ? activeAdmins(m.world) : NAMES;
  return pool[who.pick % pool.length]!;
}

/** The task an action names: none, the open one, or one that is no longer open. */
type TaskRef = 'none' | 'current' | 'stale';
const taskRefArb = weighted<TaskRef>(['none', 5], ['current', 4], ['stale', 1]);

function taskIdOf(p: InvoiceProcess, ref: TaskRef, pick: number): { taskId?: string } {
  if (ref === 'none') return {};
  const current = p.task?.id;
  if (ref === 'current' && current) return { taskId: current };
  const old = p.raw.tasks.map((t) => t.id).filter((id) => id !== current);
  return { taskId: old.length > 0 ? old[pick % old.length]! : `${p.raw.workflowId}/0` };
}

const viaArb = (signals: number) => weighted<Via>(['update', 10 - signals], ['signal', signals]);
const stageArb = fc.constantFrom<RoutableStage>(...ROUTABLE_STAGES);
const label = (kind: string, who: Who, more: string) => `${kind}(by ${who.from}#${who.pick}${more})`;

/** approve, reject, delegate, notMine, exceptionsReview, resolveException: a user acting on the open task. */
function taskAction(kind: Kind, fields: (m: Model, p: InvoiceProcess, target: number) => object, signals = 1) {
  return fc
    .record({ who: whoArb('waiting'), ref: taskRefArb, pick: fc.nat({ max: 99 }), target: fc.nat({ max: 99 }), via: viaArb(signals) })
    .map(
      ({ who, ref, pick, target, via }) =>
        new Step(label(kind, who, `, task ${ref}, target #${target}, ${via}`), (m, p) =>
          perform(m, p, kind, { by: actor(m, p, who), ...taskIdOf(p, ref, pick), ...fields(m, p, target) } as Action['payload'], via),
        ),
    );
}

const approveArb = taskAction('approve', () => ({}));
const rejectArb = taskAction('reject', () => ({ reason: 'the amount is wrong' }));
/** Delegates: a third of them to a user of the partner company (p0, p1), which only a partnership allows. */
const delegateArb = taskAction('delegate', (_m, _p, target) => ({
  to: target % 3 === 0 ? `p${target % 2}` : NAMES[target % NAMES.length],
}));
const notMineArb = taskAction('notMine', () => ({}));
const exceptionsReviewArb = taskAction('exceptionsReview', () => ({ message: 'the vendor disputes the amount' }));
const resolveExceptionArb = taskAction('resolveException', () => ({ comment: 'sorted out with the vendor' }));

const restartArb = fc
  .record({ who: whoArb('admin'), stage: fc.option(stageArb, { nil: undefined }), via: viaArb(3) })
  .map(
    ({ who, stage, via }) =>
      new Step(label('restart', who, `, ${stage ?? 'default stage'}, ${via}`), (m, p) =>
        perform(m, p, 'restart', { by: actor(m, p, who), ...(stage ? { stage } : {}), reason: 'coding corrected' }, via),
      ),
  );

const reassignArb = fc
  .record({
    who: whoArb('admin'),
    target: weighted<'to' | 'stage' | 'both'>(['to', 2], ['stage', 1], ['both', 1]),
    to: specArb(false),
    stage: stageArb,
    ref: taskRefArb,
    pick: fc.nat({ max: 99 }),
    via: viaArb(3),
  })
  .map(
    ({ who, target, to, stage, ref, pick, via }) =>
      new Step(
        label('reassign', who, `, ${target === 'stage' ? '' : JSON.stringify(to)} ${target === 'to' ? '' : stage}, task ${ref}, ${via}`),
        (m, p) =>
          perform(
            m,
            p,
            'reassign',
            {
              by: actor(m, p, who),
              ...taskIdOf(p, ref, pick),
              ...(target !== 'stage' ? { to } : {}),
              ...(target !== 'to' ? { stage } : {}),
              reason: 'workload',
            },
            via,
          ),
      ),
  );

const refreshArb = fc
  .record({ who: whoArb('admin'), via: viaArb(3) })
  .map(({ who, via }) => new Step(label('refresh', who, `, ${via}`), (m, p) => perform(m, p, 'refresh', { by: actor(m, p, who) }, via)));

const timerArb = fc.constant(
  new Step(
    'timer fires',
    (m, p) => {
      const timer = p.nextTimer();
      if (!timer) return 'no timer due';
      m.clock.advance(Math.max(0, timer.at - m.clock.now().getTime()));
      p.fire(timer);
      settle(p, m.world);
      return `${timer.kind} of ${timer.taskId} fired`;
    },
    (m) => m.timerDue,
  ),
);

const postingArb = fc.boolean().map(
  (ok) =>
    new Step(
      ok ? 'posting succeeds' : 'posting refused for good',
      (m, p) => {
        if (ok) p.posted('je-1');
        else p.postingFailed('the ledger refused the journal');
        settle(p, m.world);
        return ok ? 'posted' : 'posting failed';
      },
      (m) => m.stage === 'payment',
    ),
);

/** A change to the directory, then the refresh by an admin the product does when users change. */
type Change =
  { kind: 'active' } | { kind: 'clearance' } | { kind: 'limits'; limits: ApprovalLimit[] } | { kind: 'costCentres'; costCentres: string[] };
const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.constant<Change>({ kind: 'active' }),
  fc.constant<Change>({ kind: 'clearance' }),
  fc.array(limitArb, { maxLength: 2 }).map((limits): Change => ({ kind: 'limits', limits })),
  fc
    .oneof(fc.constant<string[]>([]), fc.subarray(COST_CENTRES, { minLength: 1 }))
    .map((costCentres): Change => ({ kind: 'costCentres', costCentres })),
);

function changed(user: DirectoryUser, change: Change): DirectoryUser {
  switch (change.kind) {
    case 'active':
      return { ...user, active: !user.active };
    case 'clearance':
      return { ...user, confidential: !user.confidential };
    case 'limits':
      return { ...user, approvalLimits: change.limits };
    case 'costCentres':
      return { ...user, costCentres: change.costCentres };
  }
}

const directoryArb = fc.record({ change: changeArb, target: fc.nat({ max: 99 }), admin: fc.nat({ max: 99 }), via: viaArb(3) }).map(
  ({ change, target, admin, via }) =>
    new Step(`directory change #${target} ${JSON.stringify(change)}, then refresh by admin #${admin} (${via})`, (m, p) => {
      const directory = m.world.directory;
      const index = target % directory.length;
      const next = directory.map((u, i) => (i === index ? changed(u, change) : u));
      const cleared = next.some((u) => u.companyId === COMPANY && u.active && u.confidential && u.roles.includes('admin'));
      if (!cleared) return `${directory[index]!.id}: refused, the last active admin cleared for confidential invoices`;
      m.world.directory = next;
      const admins = activeAdmins(m.world);
      const by = admins[admin % admins.length]!;
      return `${directory[index]!.id} ${JSON.stringify(change)}; ${perform(m, p, 'refresh', { by, reason: 'users changed' }, via)}`;
    }),
);

const commandArb = fc.oneof(
  { arbitrary: approveArb, weight: 30 },
  { arbitrary: rejectArb, weight: 4 },
  { arbitrary: delegateArb, weight: 8 },
  { arbitrary: notMineArb, weight: 5 },
  { arbitrary: exceptionsReviewArb, weight: 4 },
  { arbitrary: resolveExceptionArb, weight: 6 },
  { arbitrary: restartArb, weight: 3 },
  { arbitrary: reassignArb, weight: 5 },
  { arbitrary: refreshArb, weight: 2 },
  { arbitrary: timerArb, weight: 8 },
  { arbitrary: postingArb, weight: 6 },
  { arbitrary: directoryArb, weight: 6 },
);

function setup(s: Scenario): { model: Model; real: InvoiceProcess } {
  const world = worldOf(s);
  const clock = makeClock();
  const m: Model = { world, clock, trace: [], stage: 'new', timerDue: false };
  let p: InvoiceProcess;
  try {
    p = start('inv-1', structuredClone(s.prep), world, clock);
  } catch (e) {
    fail(m, `start threw: ${e instanceof Error ? e.stack : String(e)}`);
  }
  m.trace.push(`start: ${where(p)}`);
  // The agreement's signatures are given at start, judged with the world as it is then.
  assertInvariants(m, p, new Map());
  return { model: m, real: p };
}

// ---------------------------------------------------------------- the tests

describe('routing model', () => {
  it('keeps liveness, payment safety and valid signatures after every step of random action sequences', () => {
    const seed = process.env.MODEL_SEED;
    const replayPath = process.env.MODEL_REPLAY_PATH;
    fc.assert(
      fc.property(
        scenarioArb,
        fc.commands([commandArb], { maxCommands: MAX_STEPS, size: 'max', ...(replayPath ? { replayPath } : {}) }),
        (scenario, cmds) => {
          fc.modelRun(() => setup(scenario), cmds);
        },
      ),
      {
        numRuns: RUNS,
        verbose: 1,
        ...(seed !== undefined ? { seed: Number(seed) } : {}),
        ...(process.env.MODEL_PATH ? { path: process.env.MODEL_PATH } : {}),
      },
    );
  });
});

// ---------------------------------------------------------------- counterexamples the model found

/** A small fixed company for the counterexamples: u0 is the admin cleared for confidential invoices. */
function fixedWorld(users: [string, Role[], Partial<DirectoryUser>?][], route: Route): World {
  return {
    directory: users.map(([id, roles, more]) => ({
      id,
      companyId: COMPANY,
      roles,
      groups: [],
      costCentres: [],
      confidential: false,
      active: true,
      approvalLimits: roles.includes('approver') ? [{ currency: '*', amount: null }] : [],
      ...more,
    })),
    partnered: () => false,
    rules: { twoApproverThreshold: null },
    route,
  };
}

function fixedInvoice(world: World, more: Partial<Preparation> = {}): Preparation {
  return {
    invoice: { companyId: COMPANY, currency: 'EUR', gross: '120.00', confidential: false },
    rows: [{ id: 'r1', kind: 'expense', dimensions: { costCentre: 'CC1' } }],
    route: world.route,
    ...more,
  };
}

const violations = (world: World, p: InvoiceProcess) => [...livenessViolations(world, p), ...paymentViolations(world, p)];

describe('routing model counterexamples', () => {
  // Each was found by the model above and fixed in the product; they stay as regular tests.

  it('counterexample: a rejected invoice no flow template applies to can still be cancelled by the clerk (reject again)', () => {
    const world = fixedWorld([['u0', ['clerk', 'admin'], { confidential: true }]], {
      steps: [],
      problem: 'No flow template applies: the vendor has none and the company has no default',
    });
    const p = start('ce1', fixedInvoice(world), world);
    expect(act(p, world, { kind: 'reject', payload: { by: 'u0', reason: 'wrong amount' } })).toMatchObject({ ok: true });
    // Resubmitting is refused (no_route), and a rejected invoice can be neither rejected nor sent to exceptions review.
    expect(violations(world, p)).toEqual([]);
  });

  it('counterexample: a rejected invoice whose coding does not balance can still be cancelled by the clerk', () => {
    const world = fixedWorld([['u0', ['clerk', 'admin'], { confidential: true }]], {
      steps: [{ kind: 'approval', mode: 'any', assignees: { roles: ['admin'] } }],
    });
    const p = start('ce2', fixedInvoice(world, { codingProblem: 'The coding rows add up to 10.00 but the gross amount is 120.00' }), world);
    expect(act(p, world, { kind: 'reject', payload: { by: 'u0', reason: 'wrong amount' } })).toMatchObject({ ok: true });
    expect(violations(world, p)).toEqual([]);
  });

  it('counterexample: when every clerk and admin has said not mine, the registration task goes back to them', () => {
    const world = fixedWorld(
      [
        ['u0', ['clerk', 'admin'], { confidential: true }],
        ['u1', ['clerk']],
      ],
      { steps: [{ kind: 'approval', mode: 'any', assignees: { roles: ['approver'] } }] },
    );
    const p = start('ce3', fixedInvoice(world), world);
    act(p, world, { kind: 'notMine', payload: { by: 'u0' } });
    act(p, world, { kind: 'notMine', payload: { by: 'u1' } });
    // Re-resolved without the two who left: no clerk, no admin, and the task stays open for nobody.
    expect(violations(world, p)).toEqual([]);
  });

  it('counterexample: after the only admin delegates registration away, a refresh still finds someone', () => {
    const world = fixedWorld(
      [
        ['u0', ['clerk', 'admin'], { confidential: true }],
        ['u1', ['reviewer']],
      ],
      { steps: [{ kind: 'approval', mode: 'any', assignees: { roles: ['approver'] } }] },
    );
    const p = start('ce4', fixedInvoice(world), world);
    act(p, world, { kind: 'delegate', payload: { by: 'u0', to: 'u1' } });
    act(p, world, { kind: 'refresh', payload: { by: 'u0', reason: 'users changed' } });
    expect(violations(world, p)).toEqual([]);
  });

  it('counterexample: reassigning a task in mode all to someone who has already acted completes it', () => {
    const world = fixedWorld(
      [
        ['u0', ['admin'], { confidential: true }],
        ['u1', ['clerk']],
        ['u2', ['reviewer']],
        ['u3', ['reviewer']],
        ['u4', ['approver']],
      ],
      {
        steps: [
          { kind: 'review', mode: 'all', assignees: { users: ['u2', 'u3'] } },
          { kind: 'approval', mode: 'any', assignees: { users: ['u4'] } },
        ],
      },
    );
    const p = start('ce5', fixedInvoice(world), world);
    act(p, world, { kind: 'approve', payload: { by: 'u1' } });
    act(p, world, { kind: 'approve', payload: { by: 'u2' } });
    expect(act(p, world, { kind: 'reassign', payload: { by: 'u0', to: { users: ['u2'] } } })).toMatchObject({ ok: true });
    // u2 is the only assignee and has acted: the task neither completes nor waits on anyone.
    expect(violations(world, p)).toEqual([]);
  });

  it('counterexample: an approver who re-registers the invoice after it is moved back to new loses their signature (segregation of duties)', () => {
    const world = fixedWorld(
      [
        ['u0', ['admin'], { confidential: true }],
        ['u1', ['clerk', 'approver']],
        ['u2', ['clerk']],
        ['u3', ['approver']],
      ],
      {
        steps: [
          { kind: 'approval', mode: 'any', assignees: { users: ['u1'] } },
          { kind: 'control', mode: 'any', assignees: { users: ['u0'] } },
        ],
      },
    );
    const p = start('ce6', fixedInvoice(world), world);
    act(p, world, { kind: 'approve', payload: { by: 'u2' } });
    act(p, world, { kind: 'approve', payload: { by: 'u1' } });
    // Moving the invoice back to new keeps r1's signature by u1; u1 then registers (codes) it.
    act(p, world, { kind: 'reassign', payload: { by: 'u0', stage: 'new' } });
    act(p, world, { kind: 'approve', payload: { by: 'u1' } });
    act(p, world, { kind: 'approve', payload: { by: 'u3' } });
    act(p, world, { kind: 'approve', payload: { by: 'u0' } });
    expect(p.stage).toBe('payment');
    expect(violations(world, p)).toEqual([]);
  });

  it('counterexample: a registration task reassigned to the admins, left by one and the other deactivated, goes back to the one who left', () => {
    const world = fixedWorld(
      [
        ['u1', ['clerk', 'admin']],
        ['u2', ['admin'], { confidential: true }],
      ],
      { steps: [{ kind: 'approval', mode: 'any', assignees: { roles: ['admin'] } }] },
    );
    const p = start('ce7', fixedInvoice(world), world);
    act(p, world, { kind: 'reassign', payload: { by: 'u2', to: { roles: ['admin'] } } });
    act(p, world, { kind: 'notMine', payload: { by: 'u2' } });
    world.directory = world.directory.map((u) => (u.id === 'u1' ? { ...u, active: false } : u));
    act(p, world, { kind: 'refresh', payload: { by: 'u2' }, via: 'signal' });
    expect(p.waitingOn).toEqual(['u2']);
    expect(violations(world, p)).toEqual([]);
  });
});
