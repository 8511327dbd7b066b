/**
 * What the world sees of a running invoice: its state in Postgres (activity `recordState`, the
 * system of record for lists, details and the outbox of mails), its search attributes and current
 * details in the Temporal Web UI. A failed write is kept and retried by the main loop; it never
 * keeps a handler waiting.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { attempt, type InvoiceActivities } from './calls';
import { searchAttributes, type Stage } from './definitions';
import { blockedOnPeople, type InvoiceProcess } from './process';

export class Projection {
  /** History entries of this run already written to Postgres. */
  private historySent = 0;
  /** The search attributes as upserted, and as they should be now. */
  private shown: Shown = { stage: 'new', assignees: [], blockedOn: '' };
  private wanted: Shown = this.shown;
  /** A snapshot could not be written: the main loop writes it again. */
  dirty = false;
  /** The activity the invoice is waiting on because it keeps failing, if any. */
  blockedOn = '';

  constructor(
    private readonly companyId: string,
    /** History entries written by earlier runs (continue-as-new). */
    private readonly historyBase: number,
    /** How this run calls activities; since the `local-activities` patch it upserts in {@link flush}, once per workflow task, not in every {@link show}. */
    private readonly run: { readonly calls: InvoiceActivities; readonly local: boolean },
  ) {}

  /** Index of the next history entry to write, across runs. */
  get historyOffset(): number {
    return this.historyBase + this.historySent;
  }

  /** The search attributes as the previous run (or the starter) left them. */
  assume(p: InvoiceProcess, blockedOn = ''): void {
    this.shown = { stage: p.stage, assignees: p.waitingOn, blockedOn };
    this.wanted = this.shown;
  }

  /** Writes the current state to Postgres; false when that failed for now. */
  async persist(p: InvoiceProcess): Promise<boolean> {
    const snapshot = p.snapshot();
    const mails = p.takeOutbox() ?? [];
    const upTo = snapshot.history.length;
    const history = snapshot.history.slice(this.historySent);
    const written = await attempt(() =>
      this.run.calls.recordState({
        companyId: this.companyId,
        state: { ...snapshot, history, mails },
        firstHistoryIndex: this.historyOffset,
      }),
    );
    if (written.ok) {
      this.historySent = Math.max(this.historySent, upTo);
      this.dirty = false;
      if (this.blockedOn === 'recordState') this.blockedOn = '';
    } else {
      p.returnOutbox(mails);
      this.dirty = true;
      this.blockedOn = 'recordState';
    }
    this.show(p);
    return written.ok;
  }

  /** Keeps the Web UI current: the current details at once, the search attributes when they change. */
  show(p: InvoiceProcess): void {
    const blockedOn = this.blockedOn || blockedOnPeople(p);
    this.wanted = { stage: p.stage, assignees: p.waitingOn, blockedOn };
    setCurrentDetails(details(p, blockedOn));
    // Asks for the patch only when there is something to upsert: a run that only shows details records no marker.
    if (this.unflushed && !this.run.local) this.flush();
  }

  /** Whether the search attributes differ from what the invoice shows now. */
  get unflushed(): boolean {
    return this.changes().length > 0;
  }

  /**
   * Upserts the search attributes that changed, in one command (each upsert is a billed action).
   * The workflow calls it before it waits, so the states it passes through within one workflow
   * task (payment on the way to posted) are never upserted.
   */
  flush(): void {
    const changes = this.changes();
    if (changes.length > 0) upsertSearchAttributes(changes);
    this.shown = this.wanted;
  }

  private changes(): SearchAttributeUpdatePair[] {
    const { shown, wanted } = this;
    const changes: SearchAttributeUpdatePair[] = [];
    if (wanted.stage !== shown.stage) changes.push({ key: searchAttributes.InvoiceStage, value: wanted.stage });
    if (wanted.assignees.join(',') !== shown.assignees.join(','))
      changes.push({ key: searchAttributes.Assignees, value: [...wanted.assignees] });
    if (wanted.blockedOn !== shown.blockedOn) changes.push({ key: searchAttributes.BlockedOn, value: wanted.blockedOn || null });
    return changes;
  }
}

interface Shown {
  stage: Stage;
  assignees: readonly string[];
  blockedOn: string;
}

/** The current task and who it waits on, in the Web UI's "current details" (markdown). */
function details(p: InvoiceProcess, blockedOn: string): string {
  const task = p.task;
  const lines = [`**Stage:** ${p.stage}`];
  if (task) lines.push(`**Task:** ${task.stage} \`${task.id}\` (${task.mode}) waiting on ${p.waitingOn.join(', ') || 'nobody'}`);
  if (blockedOn) lines.push(`**Blocked on:** ${blockedOn}`);
  return lines.join('  \n');
}
