import { Context } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { createActivities } from '../../activities';
import { auditEvents, journalEntries, journalLines } from '../../db/schema';
import { createMailer } from '../../lib/mailer';
import { journalTotals } from '../../domain/journal';
import { invoiceWorkflowId } from '../../workflows/definitions';
import { invoiceBody, startStack, waitForStage, type Stack } from '../harness';

/** postInvoice attempts seen by the worker, by invoice id. */
const attempts = new Map<string, number>();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    // The real posting activity, but its first attempt "crashes" after the commit, before the
    // worker reports completion: Temporal retries it, as it would after a lost worker.
    wrapActivities: (real) => ({
      ...real,
      async postInvoice(input) {
        attempts.set(input.invoiceId, (attempts.get(input.invoiceId) ?? 0) + 1);
        const result = await real.postInvoice(input);
        if (Context.current().info.attempt === 1) throw new Error('worker lost after commit (simulated)');
        return result;
      },
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function toPayment(): Promise<string> {
  const created = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack) });
  const id = created.body.id as string;
  await waitForStage(stack, id, 'new');
  for (const who of ['alice', 'bob', 'dave']) {
    const res = await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: who, body: {} });
    expect(res.status).toBe(200);
  }
  return id;
}

describe('final posting', () => {
  it('writes the journal once when the posting activity is retried after committing', async () => {
    const id = await toPayment();
    const detail = await waitForStage(stack, id, 'posted');
    expect(attempts.get(id)).toBe(2);

    const entries = await stack.database.db.select().from(journalEntries).where(eq(journalEntries.invoiceId, id));
    expect(entries).toHaveLength(1);
    expect((detail.posting as { id: string }).id).toBe(entries[0]!.id);
    const lines = await stack.database.db.select().from(journalLines).where(eq(journalLines.entryId, entries[0]!.id));
    expect(journalTotals(lines, 'EUR')).toEqual({ debit: '1250.00', credit: '1250.00' });
    const postingEvents = await stack.database.db.select().from(auditEvents).where(eq(auditEvents.invoiceId, id));
    expect(postingEvents.filter((e) => e.kind === 'posting')).toHaveLength(1);

    const result = await stack.temporal.workflow.getHandle(invoiceWorkflowId(id)).result();
    expect(result.journalEntryId).toBe(entries[0]!.id);
  });

  it('returns the same entry to concurrent and repeated calls', async () => {
    const id = await toPayment();
    await waitForStage(stack, id, 'posted');
    const acts = createActivities({ db: stack.database.db, mailer: createMailer(undefined), clock: () => new Date() });
    const results = await Promise.all([acts.postInvoice({ invoiceId: id }), acts.postInvoice({ invoiceId: id })]);
    const [entry] = await stack.database.db.select().from(journalEntries).where(eq(journalEntries.invoiceId, id));
    expect(results).toEqual([
      { journalEntryId: entry!.id, created: false },
      { journalEntryId: entry!.id, created: false },
    ]);
  });

  it('the database refuses an unbalanced journal entry and any change to a posted one', async () => {
    const id = await toPayment();
    await waitForStage(stack, id, 'posted');
    const [entry] = await stack.database.db.select().from(journalEntries).where(eq(journalEntries.invoiceId, id));
    await expect(
      stack.database.db.transaction(async (tx) => {
        await tx
          .insert(journalLines)
          .values({ entryId: entry!.id, lineNo: 99, account: '6100', debit: '0.01', credit: '0', description: 'x' });
      }),
    ).rejects.toThrow(/does not balance/);
    await expect(stack.database.db.delete(journalLines).where(eq(journalLines.entryId, entry!.id))).rejects.toMatchObject({
      cause: expect.objectContaining({ message: 'journal rows are append-only' }),
    });
  });
});
