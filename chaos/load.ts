/**
 * The mixed load: touchless agreement invoices (intake only; the agreement posts them), the human
 * path (register, review and approve through the API), batch approvals (the clerk's, the
 * reviewer's and the approver's batches from the work queue) and invoices that wait in review on a
 * flow whose reminder and escalation mails come after seconds. Arrivals follow the seeded random
 * generator; every call goes through the recording client.
 */
import { eq } from 'drizzle-orm';
import type { Rig } from '../bench/batch-speed';
import { touchlessVendor } from '../bench/batch-speed';
import { agreements, journalEntries, vendors } from '../db/schema';
import { GaveUp, sleep, type Answer, type ApiClient } from './client';
import { PATHS, type LoadMix, type PathKind } from './config';
import type { Random } from './random';

export interface TrackedInvoice {
  path: PathKind;
  /** 1-based among invoices of its path. */
  seq: number;
  invoiceNumber: string;
  /** Where the load leaves it: touchless and fully approved invoices are posted, reminder ones wait in review. */
  expected: 'posted' | 'review';
  id?: string;
  /** The client could not do its part (it gave up after its deadline): the step and the last answer. */
  clientError?: string;
  /** The load did its part (or gave up). */
  done?: boolean;
}

export interface LoadSetup {
  touchlessVendorId: string;
  agreementId: string;
  reminderVendorId: string;
  defaultVendorId: string;
}

/** What the load needs in the seeded company: a touchless agreement vendor and a vendor whose review step reminds after seconds. */
export async function prepareLoad(rig: Rig, client: ApiClient, opts: { reminderAfter: string; escalateAfter: string }): Promise<LoadSetup> {
  const touchless = await touchlessVendor(rig, 'Chaos touchless');
  const [agreement] = await rig.database.db.select().from(agreements).where(eq(agreements.vendorId, touchless.id));
  const flow = await client.call('erin', 'POST', '/flow-templates', {
    body: {
      name: 'Chaos reminders',
      steps: [
        {
          kind: 'review',
          assignees: { users: [rig.users.bob] },
          mode: 'any',
          reminderAfter: opts.reminderAfter,
          escalateAfter: opts.escalateAfter,
        },
        { kind: 'approval', assignees: { users: [rig.users.carol, rig.users.dave] }, mode: 'any' },
      ],
    },
  });
  if (flow.status !== 201) throw new Error(`flow template refused: ${flow.status} ${JSON.stringify(flow.body)}`);
  const [vendor] = await rig.database.db
    .insert(vendors)
    .values({ companyId: rig.companyId, name: 'Chaos reminders Ltd', flowTemplateId: flow.body.id as string })
    .returning();
  // A warm-up invoice to posted: the load starts once the worker runs (it bundles the workflows at start).
  const warmUp = await client.call('alice', 'POST', '/invoices', {
    body: {
      vendor: { id: touchless.id },
      invoiceNumber: 'CHAOS-WARMUP',
      invoiceDate: '1999-01-01',
      dueDate: '1999-01-01',
      currency: 'EUR',
      net: '100.00',
      tax: '25.00',
      gross: '125.00',
    },
  });
  if (warmUp.status !== 201) throw new Error(`warm-up intake answered ${warmUp.status}: ${JSON.stringify(warmUp.body)}`);
  for (let i = 0; ; i++) {
    const [posted] = await rig.database.db
      .select()
      .from(journalEntries)
      .where(eq(journalEntries.invoiceId, warmUp.body.id as string));
    if (posted) break;
    if (i > 600) throw new Error('the warm-up invoice was not posted within two minutes');
    await sleep(200);
  }
  return { touchlessVendorId: touchless.id, agreementId: agreement!.id, reminderVendorId: vendor!.id, defaultVendorId: rig.vendorId };
}

export class Load {
  readonly invoices: TrackedInvoice[] = [];
  /** When intake answered 201 (run clock, ms). */
  readonly intakesAt: number[] = [];
  /** Arrivals dropped because too many scenarios were in flight. */
  dropped = 0;
  /** Actions answered 409 "finished" while the invoice's workflow had not started yet (Temporal away at intake). */
  notStartedAnswers = 0;
  /** Actions whose retries with the same Idempotency-Key kept answering the same 503 (a refusal stored under that update id). */
  sticky503 = 0;
  private counters: Record<PathKind, number> = { touchless: 0, human: 0, batch: 0, reminder: 0 };
  private batchGroups = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly setup: LoadSetup,
    private readonly mix: LoadMix,
    private readonly random: Random,
    private readonly clock: () => number,
  ) {}

  /** Scenarios still under way when the drain limit passed (their invoices count as client errors). */
  unfinished = 0;

  /**
   * Starts arrivals every 250 ms until `stop()` is true, then waits up to `drainMs` for the
   * scenarios under way; those still running are stopped and their invoices marked unfinished.
   */
  async run(stop: () => boolean, drainMs: number): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const tick = 250;
    while (!stop()) {
      for (const path of PATHS) {
        if (this.random.next() >= this.mix.perSecond[path] * (tick / 1000)) continue;
        if (inFlight.size >= this.mix.maxInFlight) {
          this.dropped += 1;
          continue;
        }
        const p = this.scenario(path).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(tick);
    }
    const drained = await Promise.race([Promise.all(inFlight).then(() => true), sleep(drainMs).then(() => false)]);
    if (drained) return;
    this.unfinished = inFlight.size;
    this.client.abort();
    for (const t of this.invoices)
      if (!t.done) t.clientError ??= `unfinished when the load ended (${drainMs / 1000} s after its last arrival)`;
  }

  private track(path: PathKind): TrackedInvoice {
    const n = ++this.counters[path];
    const t: TrackedInvoice = {
      path,
      seq: n,
      invoiceNumber: `CHAOS-${path.toUpperCase()}-${n}`,
      expected: path === 'reminder' ? 'review' : 'posted',
    };
    this.invoices.push(t);
    return t;
  }

  private async scenario(path: PathKind): Promise<void> {
    if (path === 'batch') return this.batchGroup();
    const t = this.track(path);
    try {
      await this.walk(t);
    } catch (err) {
      t.clientError ??= (err as Error).message;
    } finally {
      t.done = true;
    }
  }

  /** One invoice down its path. */
  private async walk(t: TrackedInvoice): Promise<void> {
    if (t.path === 'touchless') {
      // Touchless invoices must lie a day apart (the agreement's `days`): one day each since 2000-01-01.
      const day = new Date(Date.UTC(2000, 0, 1) + (t.seq - 1) * 86_400_000).toISOString().slice(0, 10);
      await this.intake(t, this.setup.touchlessVendorId, day);
      return;
    }
    await this.intake(t, t.path === 'reminder' ? this.setup.reminderVendorId : this.setup.defaultVendorId, '2026-11-01');
    await this.approve(t, 'alice', 'new', 'register');
    if (t.path === 'reminder') return;
    await this.approve(t, 'bob', 'review', 'review');
    await this.approve(t, 'carol', 'approval', 'approve');
  }

  private async intake(t: TrackedInvoice, vendorId: string, invoiceDate: string): Promise<void> {
    const a = await this.client.call('alice', 'POST', '/invoices', {
      headers: { 'idempotency-key': `chaos-${t.invoiceNumber}` },
      body: {
        vendor: { id: vendorId },
        invoiceNumber: t.invoiceNumber,
        invoiceDate,
        dueDate: invoiceDate,
        currency: 'EUR',
        net: '100.00',
        tax: '25.00',
        gross: '125.00',
      },
    });
    if (a.status !== 201) throw new Error(`intake answered ${a.status}: ${JSON.stringify(a.body)}`);
    t.id = a.body.id as string;
    this.intakesAt.push(this.clock());
  }

  /**
   * One approve through the API with an Idempotency-Key (a retried request is the same Update).
   * Anything but 200 is judged by the invoice's stage: moved on means an earlier attempt applied it.
   */
  private async approve(t: TrackedInvoice, as: string, from: string, step: string): Promise<void> {
    let key = `chaos-${t.invoiceNumber}-${step}`;
    for (let fresh = 0; ;) {
      let answer: Answer;
      try {
        answer = await this.client.call(as, 'POST', `/invoices/${t.id}/actions/approve`, {
          body: {},
          headers: { 'idempotency-key': key },
          // Intake committed but Temporal was away: the worker's starter starts the workflow within seconds.
          again: (a) => {
            const notStarted = a.status === 409 && a.body?.error?.code === 'finished' && from === 'new';
            if (notStarted) this.notStartedAnswers += 1;
            return notStarted;
          },
        });
      } catch (err) {
        // A refusal "not ready" is stored under its update id: the same key answers the same 503 for good.
        if (!(err instanceof GaveUp) || err.last?.status !== 503 || fresh > 3)
          throw new Error(`${step} by ${as}: ${(err as Error).message}`);
        this.sticky503 += 1;
        key = `chaos-${t.invoiceNumber}-${step}-fresh${++fresh}`;
        continue;
      }
      if (answer.status === 200) return;
      const stage = await this.stageOf(t);
      if (stage !== from) return;
      throw new Error(
        `${step} by ${as} answered ${answer.status}: ${JSON.stringify(answer.body?.error ?? answer.body)} (stage still ${stage})`,
      );
    }
  }

  private async stageOf(t: TrackedInvoice): Promise<string> {
    const a = await this.client.call('erin', 'GET', `/invoices/${t.id}`);
    if (a.status !== 200) throw new Error(`GET /invoices/${t.id} answered ${a.status}`);
    return a.body.stage as string;
  }

  /** Until the invoice shows `stage` with an open task of that stage (what the next person's work queue lists). */
  private async waitForTask(t: TrackedInvoice, stage: string, timeoutMs: number): Promise<boolean> {
    const deadline = this.clock() + timeoutMs;
    while (this.clock() < deadline) {
      const a = await this.client.call('erin', 'GET', `/invoices/${t.id}`);
      if (
        a.status === 200 &&
        a.body.stage === stage &&
        (a.body.tasks as { stage: string; state: string }[]).some((k) => k.stage === stage && k.state === 'open')
      )
        return true;
      await sleep(500);
    }
    return false;
  }

  /** `batchSize` invoices registered, then approved by alice, bob and carol, each in one batch from the work queue. */
  private async batchGroup(): Promise<void> {
    const group = Array.from({ length: this.mix.batchSize }, () => this.track('batch'));
    try {
      await this.batchSteps(group, ++this.batchGroups);
    } finally {
      for (const t of group) t.done = true;
    }
  }

  private async batchSteps(group: TrackedInvoice[], g: number): Promise<void> {
    await Promise.all(
      group.map((t) =>
        this.intake(t, this.setup.defaultVendorId, '2026-11-01').catch((err: unknown) => {
          t.clientError = (err as Error).message;
        }),
      ),
    );
    for (const [as, from] of [
      ['alice', 'new'],
      ['bob', 'review'],
      ['carol', 'approval'],
    ] as const) {
      let pending = group.filter((t) => t.id && !t.clientError);
      // The next person picks the invoices from their queue, so they must show there first.
      await Promise.all(
        pending.map(async (t) => {
          if (!(await this.waitForTask(t, from, 180_000).catch(() => false))) t.clientError = `batch group ${g}: no open ${from} task`;
        }),
      );
      pending = pending.filter((t) => !t.clientError);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(1000);
        let a: Answer;
        try {
          a = await this.client.call(as, 'POST', '/work-queue/batch', {
            body: { action: 'approve', invoiceIds: pending.map((t) => t.id) },
            headers: { 'idempotency-key': `chaos-batch-${g}-${as}-${attempt}` },
          });
        } catch (err) {
          for (const t of pending) t.clientError = `batch ${as}: ${(err as Error).message}`;
          break;
        }
        if (a.status !== 200) {
          for (const t of pending) t.clientError = `batch ${as} answered ${a.status}: ${JSON.stringify(a.body)}`;
          break;
        }
        const results = a.body.results as { invoiceId: string; ok: boolean; moved?: boolean; reason?: string }[];
        const again: TrackedInvoice[] = [];
        for (const t of pending) {
          const r = results.find((x) => x.invoiceId === t.id);
          if (r?.ok && r.moved) continue;
          // Not moved: moved on by an earlier attempt, or try again (a dependency was away).
          const stage = await this.stageOf(t).catch(() => from);
          if (stage !== from) continue;
          if (attempt >= 60) t.clientError = `batch ${as}: still ${from} after ${attempt} attempts: ${r?.reason}`;
          else again.push(t);
        }
        pending = again;
      }
    }
  }
}
