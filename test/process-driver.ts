/**
 * Drives the pure invoice process as the workflow does, with the activities replaced by the same
 * pure functions they call (domain/routing/assign.ts) over an in-memory world.
 */
import { resolveAssignment } from '../domain/routing/assign';
import type { ActionResult, Refusal } from '../workflows/definitions';
import { InvoiceProcess, type Action, type Preparation } from '../workflows/process';
import { lookupsFrom, type World } from '../workflows/process/invariants';

export type Outcome = { ok: true; result: ActionResult } | { ok: false; refusal: Refusal };

export function makeClock(start = Date.UTC(2026, 10, 1)) {
  let t = start;
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}

/** Resolves every pending assignment from the world, as `settleAndPersist` does with the activity. */
export function settle(p: InvoiceProcess, world: World): void {
  for (let pending = p.pendingAssignment(), guard = 0; pending; pending = p.pendingAssignment(), guard++) {
    if (guard > 50) throw new Error('assignments do not settle');
    p.assigned(pending, resolveAssignment(pending.request, world.directory, world.rules));
  }
}

export function start(invoiceId: string, prep: Preparation, world: World, clock = makeClock()): InvoiceProcess {
  const p = InvoiceProcess.start(invoiceId, `invoice-${invoiceId}`, prep, clock);
  settle(p, world);
  return p;
}

/** One action as the workflow's `act` takes it: lookups, check, apply, settle. */
export function act(p: InvoiceProcess, world: World, action: Omit<Action, 'lookups' | 'via'> & { via?: 'update' | 'signal' }): Outcome {
  const full = { via: 'update', ...action, lookups: {} } as Action;
  full.lookups = lookupsFrom(world, p.raw.invoice.companyId, p.needs(full));
  const refusal = p.check(full);
  if (refusal) {
    p.recordRefusal(full, refusal, full.via);
    return { ok: false, refusal };
  }
  const from = p.stage;
  const message = p.apply(full);
  settle(p, world);
  return { ok: true, result: p.result(from, message) };
}
