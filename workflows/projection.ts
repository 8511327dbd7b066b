/**
 * What the world sees of a running invoice: its state in Postgres (activity `recordState`, the
 * system of record for lists, details and the outbox of mails), its search attributes and current
 * details in the Temporal Web UI. A failed write is kept and retried by the main loop; it never
 * keeps a handler waiting.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { activities, attempt } from './calls';
import { searchAttributes, type Stage } from './definitions';
import type { InvoiceProcess } from './process';

export class Projection {
  /** History entries of this run already written to Postgres. */
  private historySent = 0;
  private shown: { stage: Stage; assignees: string; blockedOn: string } = { stage: 'new', assignees: '', blockedOn: '' };
  /** A snapshot could not be written: the main loop writes it again. */
  dirty = false;
  /** The activity the invoice is waiting on because it keeps failing, if any. */
  blockedOn = '';

  constructor(
    private readonly companyId: string,
    /** History entries written by earlier runs (continue-as-new). */
    private readonly historyBase: number,
  ) {}

  /** Index of the next history entry to write, across runs. */
  get historyOffset(): number {
    return this.historyBase + this.historySent;
  }

  /** The search attributes as the previous run left them. */
  assume(p: InvoiceProcess): void {
    this.shown = { stage: p.stage, assignees: p.waitingOn.join(','), blockedOn: '' };
  }

  /** Writes the current state to Postgres; false when that failed for now. */
  async persist(p: InvoiceProcess): Promise<boolean> {
    const snapshot = p.snapshot();
    const mails = p.takeOutbox() ?? [];
    const upTo = snapshot.history.length;
    const history = snapshot.history.slice(this.historySent);
    const written = await attempt(() =>
      activities.recordState({ companyId: this.companyId, state: { ...snapshot, history, mails }, firstHistoryIndex: this.historyOffset }),
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

  /** Keeps the Web UI current: search attributes only when a value changes (each upsert is billed). */
  show(p: InvoiceProcess): void {
    const waitingOn = p.waitingOn;
    const blockedOn = this.blockedOn || (p.unassigned ? 'nobody' : '');
    const next = { stage: p.stage, assignees: waitingOn.join(','), blockedOn };
    const changes: SearchAttributeUpdatePair[] = [];
    if (next.stage !== this.shown.stage) changes.push({ key: searchAttributes.InvoiceStage, value: next.stage });
    if (next.assignees !== this.shown.assignees) changes.push({ key: searchAttributes.Assignees, value: waitingOn });
    if (next.blockedOn !== this.shown.blockedOn) changes.push({ key: searchAttributes.BlockedOn, value: next.blockedOn || null });
    if (changes.length > 0) upsertSearchAttributes(changes);
    this.shown = next;
    setCurrentDetails(details(p, blockedOn));
  }
}

/** The current task and who it waits on, in the Web UI's "current details" (markdown). */
function details(p: InvoiceProcess, blockedOn: string): string {
  const task = p.task;
  const lines = [`**Stage:** ${p.stage}`];
  if (task) lines.push(`**Task:** ${task.stage} \`${task.id}\` (${task.mode}) waiting on ${p.waitingOn.join(', ') || 'nobody'}`);
  if (blockedOn) lines.push(`**Blocked on:** ${blockedOn}`);
  return lines.join('  \n');
}
