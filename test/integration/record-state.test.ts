/**
 * The projection of a workflow snapshot (activity `recordState`) against the real Postgres: newer
 * states apply whole, older ones never, keyed history and mails land once whatever the order, and
 * concurrent projections of one invoice leave exactly the newest state and its work-queue index.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { asc, eq, like } from 'drizzle-orm';
import { recordStateActivity } from '../../activities/record-state';
import { connectDatabase, type Database } from '../../db/client';
import { auditEvents, codingRows, invoices, mailOutbox, taskUsers, tasks } from '../../db/schema';
import { seedCompany, type SeededCompany } from '../../db/seed';
import { nonRetryable } from '../non-retryable';
import type { InvoiceState, TaskView } from '../../workflows/definitions';

let database: Database;
let company: SeededCompany;
let recordState: ReturnType<typeof recordStateActivity>['recordState'];

beforeAll(async () => {
  database = connectDatabase(process.env.TEST_DATABASE_URL!, { max: 8 });
  company = await seedCompany(database.db, `p${randomBytes(4).toString('hex')}`);
  recordState = recordStateActivity({ db: database.db, clock: () => new Date() }).recordState;
});
afterAll(async () => {
  await database?.close();
});

const u = (name: string) => company.users[name]!;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 2, 9, minute)).toISOString();

/** An invoice with `rows` unsigned coding rows, straight into the database; its id and its rows' ids. */
async function invoiceWithRows(rows: number): Promise<{ id: string; rowIds: string[] }> {
  const id = randomUUID();
  await database.db.insert(invoices).values({
    id,
    companyId: company.companyId,
    vendorId: company.vendorId,
    documentType: 'invoice',
    invoiceNumber: `PRJ-${id}`,
    invoiceDate: '2026-11-01',
    dueDate: '2026-12-01',
    currency: 'EUR',
    net: '300.00',
    tax: '0.00',
    gross: '300.00',
    workflowId: `invoice-${id}`,
  });
  if (rows === 0) return { id, rowIds: [] };
  const inserted = await database.db
    .insert(codingRows)
    .values(
      Array.from({ length: rows }, (_, i) => ({
        invoiceId: id,
        rowNo: i + 1,
        kind: 'expense' as const,
        account: '6100',
        amount: '100.00',
      })),
    )
    .returning({ id: codingRows.id, rowNo: codingRows.rowNo });
  return { id, rowIds: inserted.sort((a, b) => a.rowNo - b.rowNo).map((r) => r.id) };
}

function task(id: string, overrides: Partial<TaskView> = {}): TaskView {
  return { id, stage: 'approval', step: 0, mode: 'any', state: 'open', assignees: [], actedBy: [], openedAt: at(0), ...overrides };
}

function snapshot(invoiceId: string, seq: number, overrides: Partial<InvoiceState> = {}): InvoiceState {
  return { invoiceId, stage: 'approval', seq, tasks: [], rows: [], history: [], ...overrides };
}

const entry = (message: string, outcome: 'done' | 'refused' | 'system' = 'done') => ({
  at: at(1),
  actor: u('carol'),
  action: 'approve',
  stage: 'approval' as const,
  outcome,
  message,
});

const project = (state: InvoiceState, firstHistoryIndex = 0) => recordState({ companyId: company.companyId, state, firstHistoryIndex });

async function stored(invoiceId: string) {
  const db = database.db;
  const [invoice] = await db.select({ stage: invoices.stage, seq: invoices.workflowSeq }).from(invoices).where(eq(invoices.id, invoiceId));
  return {
    invoice,
    rows: await db
      .select({ approvedBy: codingRows.approvedBy, approvedAt: codingRows.approvedAt, reviewedBy: codingRows.reviewedBy })
      .from(codingRows)
      .where(eq(codingRows.invoiceId, invoiceId))
      .orderBy(asc(codingRows.rowNo)),
    tasks: await db.select().from(tasks).where(eq(tasks.invoiceId, invoiceId)).orderBy(asc(tasks.id)),
    index: (
      await db
        .select({ userId: taskUsers.userId, taskId: taskUsers.taskId, relation: taskUsers.relation, state: taskUsers.state })
        .from(taskUsers)
        .where(like(taskUsers.taskId, `${invoiceId}%`))
    )
      .map((r) => `${r.taskId.slice(invoiceId.length)} ${r.userId} ${r.relation} ${r.state}`)
      .sort(),
    history: (
      await db
        .select({ key: auditEvents.eventKey, kind: auditEvents.kind, message: auditEvents.message, data: auditEvents.data })
        .from(auditEvents)
        .where(eq(auditEvents.invoiceId, invoiceId))
    ).sort((a, b) => a.key!.localeCompare(b.key!)),
    mails: (
      await db.select({ key: mailOutbox.key, to: mailOutbox.toUsers }).from(mailOutbox).where(eq(mailOutbox.invoiceId, invoiceId))
    ).sort((a, b) => a.key.localeCompare(b.key)),
  };
}

describe('recordState', () => {
  it('a newer snapshot writes stage, signatures, tasks, the work-queue index, history and mails', async () => {
    const { id, rowIds } = await invoiceWithRows(3);
    const review = task(`${id}:review`, {
      stage: 'review',
      state: 'done',
      assignees: [u('bob'), u('alice')],
      actedBy: [u('bob')],
      action: 'review',
      closedAt: at(2),
    });
    const approval = task(`${id}:approval`, {
      step: 1,
      mode: 'all',
      assignees: [u('carol'), u('dave'), u('carol')],
      actedBy: [u('carol')],
      remindedAt: at(5),
    });
    const result = await project(
      snapshot(id, 4, {
        rows: [
          { rowId: rowIds[0]!, reviewedBy: u('bob'), reviewedAt: at(2), approvedBy: u('carol'), approvedAt: at(3) },
          { rowId: rowIds[1]!, reviewedBy: u('bob'), reviewedAt: at(2) },
        ],
        tasks: [review, approval],
        history: [entry('reviewed'), entry('over the limit', 'refused')],
        mails: [{ key: `${id}:approval:reminder`, kind: 'reminder', taskId: approval.id, to: [u('dave')] }],
      }),
      7,
    );
    expect(result).toEqual({ applied: true });

    const s = await stored(id);
    expect(s.invoice).toEqual({ stage: 'approval', seq: 4 });
    expect(s.rows).toEqual([
      { reviewedBy: u('bob'), approvedBy: u('carol'), approvedAt: new Date(at(3)) },
      { reviewedBy: u('bob'), approvedBy: null, approvedAt: null },
      { reviewedBy: null, approvedBy: null, approvedAt: null },
    ]);
    expect(
      s.tasks.map((t) => [t.id, t.stage, t.step, t.mode, t.state, t.assignees, t.actedBy, t.action, t.remindedAt, t.closedAt]),
    ).toEqual([
      [approval.id, 'approval', 1, 'all', 'open', [u('carol'), u('dave'), u('carol')], [u('carol')], null, new Date(at(5)), null],
      [review.id, 'review', 0, 'any', 'done', [u('bob'), u('alice')], [u('bob')], 'review', null, new Date(at(2))],
    ]);
    expect(s.tasks.every((t) => t.companyId === company.companyId && t.openedAt.toISOString() === at(0))).toBe(true);
    // Open: waiting on those who have not acted (once each). Done: every assignee. Actors either way.
    expect(s.index).toEqual(
      [
        `:approval ${u('carol')} actor open`,
        `:approval ${u('dave')} assignee open`,
        `:review ${u('alice')} assignee done`,
        `:review ${u('bob')} actor done`,
        `:review ${u('bob')} assignee done`,
      ].sort(),
    );
    expect(s.history).toEqual([
      { key: `invoice-${id}:h7`, kind: 'approve', message: 'reviewed', data: { stage: 'approval', outcome: 'done' } },
      { key: `invoice-${id}:h8`, kind: 'approve_refused', message: 'over the limit', data: { stage: 'approval', outcome: 'refused' } },
    ]);
    expect(s.mails).toEqual([{ key: `${id}:approval:reminder`, to: [u('dave')] }]);
  });

  it('a late retry of an older snapshot changes no state, but its new history entries and mails are written, once', async () => {
    const { id, rowIds } = await invoiceWithRows(1);
    const newer = snapshot(id, 5, {
      stage: 'payment',
      rows: [{ rowId: rowIds[0]!, approvedBy: u('dave'), approvedAt: at(4) }],
      tasks: [task(`${id}:a`, { state: 'done', assignees: [u('dave')], actedBy: [u('dave')], closedAt: at(4) })],
      history: [entry('h0'), entry('h1')],
    });
    expect(await project(newer)).toEqual({ applied: true });
    const before = await stored(id);

    const older = snapshot(id, 3, {
      stage: 'approval',
      rows: [{ rowId: rowIds[0]! }],
      tasks: [task(`${id}:a`, { assignees: [u('carol')] }), task(`${id}:b`, { assignees: [u('carol')] })],
      history: [entry('h1 again'), entry('h2')],
      mails: [{ key: `${id}:a:reminder`, kind: 'reminder', taskId: `${id}:a`, to: [u('carol')] }],
    });
    for (let i = 0; i < 2; i++) expect(await project(older, 1)).toEqual({ applied: false });
    // The same seq again is not newer either.
    expect(await project({ ...newer, stage: 'posted', history: [] })).toEqual({ applied: false });

    const after = await stored(id);
    expect({ ...after, history: before.history, mails: before.mails }).toEqual(before);
    expect(after.history.map((h) => [h.key, h.message])).toEqual([
      [`invoice-${id}:h0`, 'h0'],
      [`invoice-${id}:h1`, 'h1'],
      [`invoice-${id}:h2`, 'h2'],
    ]);
    expect(after.mails).toEqual([{ key: `${id}:a:reminder`, to: [u('carol')] }]);
  });

  it('a retried newer snapshot with overlapping history writes each entry and mail once', async () => {
    const { id } = await invoiceWithRows(0);
    const mail = { key: `${id}:notice`, kind: 'clerk_notice' as const, taskId: `${id}:a`, to: [u('alice')] };
    expect(await project(snapshot(id, 1, { history: [entry('h0'), entry('h1')], mails: [mail] }))).toEqual({ applied: true });
    expect(await project(snapshot(id, 2, { history: [entry('h1'), entry('h2'), entry('h3')], mails: [mail, mail] }), 1)).toEqual({
      applied: true,
    });
    const s = await stored(id);
    expect(s.history.map((h) => h.key)).toEqual([0, 1, 2, 3].map((i) => `invoice-${id}:h${i}`));
    expect(s.mails).toEqual([{ key: mail.key, to: [u('alice')] }]);
  });

  it('signatures reach only the rows of the projected invoice', async () => {
    const mine = await invoiceWithRows(1);
    const other = await invoiceWithRows(1);
    const result = await project(
      snapshot(mine.id, 1, {
        rows: [mine.rowIds[0]!, other.rowIds[0]!].map((rowId) => ({ rowId, approvedBy: u('dave'), approvedAt: at(9) })),
      }),
    );
    expect(result).toEqual({ applied: true });
    expect((await stored(mine.id)).rows).toEqual([{ reviewedBy: null, approvedBy: u('dave'), approvedAt: new Date(at(9)) }]);
    expect((await stored(other.id)).rows).toEqual([{ reviewedBy: null, approvedBy: null, approvedAt: null }]);
    // A newer snapshot takes a signature back as well.
    expect(await project(snapshot(mine.id, 2, { rows: [{ rowId: mine.rowIds[0]! }] }))).toEqual({ applied: true });
    expect((await stored(mine.id)).rows).toEqual([{ reviewedBy: null, approvedBy: null, approvedAt: null }]);
  });

  it("a task's index rows follow it: a delegated task leaves the old assignee's queue, a closed one moves to done", async () => {
    const { id } = await invoiceWithRows(0);
    const t = `${id}:a`;
    const other = `${id}:b`;
    await project(
      snapshot(id, 1, { tasks: [task(t, { mode: 'all', assignees: [u('carol'), u('dave')] }), task(other, { assignees: [u('bob')] })] }),
    );
    expect((await stored(id)).index).toEqual(
      [`:a ${u('carol')} assignee open`, `:a ${u('dave')} assignee open`, `:b ${u('bob')} assignee open`].sort(),
    );

    // carol delegates to erin; only task a is in this snapshot, so task b's rows stay as they are.
    await project(snapshot(id, 2, { tasks: [task(t, { mode: 'all', assignees: [u('erin'), u('dave')] })] }));
    expect((await stored(id)).index).toEqual(
      [`:a ${u('dave')} assignee open`, `:a ${u('erin')} assignee open`, `:b ${u('bob')} assignee open`].sort(),
    );

    await project(
      snapshot(id, 3, {
        tasks: [
          task(t, { mode: 'all', state: 'done', assignees: [u('erin'), u('dave')], actedBy: [u('dave'), u('erin')], closedAt: at(3) }),
        ],
      }),
    );
    expect((await stored(id)).index).toEqual(
      [
        `:a ${u('dave')} actor done`,
        `:a ${u('dave')} assignee done`,
        `:a ${u('erin')} actor done`,
        `:a ${u('erin')} assignee done`,
        `:b ${u('bob')} assignee open`,
      ].sort(),
    );
  });

  it('a snapshot of an invoice that does not exist is refused for good and writes nothing', async () => {
    const missing = randomUUID();
    const key = `${missing}:reminder`;
    const err = await nonRetryable(() =>
      project(
        snapshot(missing, 1, { history: [entry('h0')], mails: [{ key, kind: 'reminder', taskId: `${missing}:a`, to: [u('carol')] }] }),
      ),
    );
    expect(err.type).toBe('InvoiceNotFound');
    expect(await database.db.select().from(mailOutbox).where(eq(mailOutbox.key, key))).toEqual([]);
    expect(
      await database.db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.eventKey, `invoice-${missing}:h0`)),
    ).toEqual([]);
  });

  it('a projection the database refuses writes nothing at all, not even its history', async () => {
    const { id, rowIds } = await invoiceWithRows(1);
    const err = await nonRetryable(() =>
      project(
        snapshot(id, 1, {
          rows: [{ rowId: rowIds[0]!, approvedBy: 'nobody.we.know', approvedAt: at(1) }],
          tasks: [task(`${id}:a`, { assignees: [u('carol')] })],
          history: [entry('h0')],
          mails: [{ key: `${id}:a:reminder`, kind: 'reminder', taskId: `${id}:a`, to: [u('carol')] }],
        }),
      ),
    );
    expect(err.type).toBe('DataRefused');
    const s = await stored(id);
    expect([s.invoice, s.rows, s.tasks, s.index, s.history, s.mails]).toEqual([
      { stage: 'new', seq: 0 },
      [{ reviewedBy: null, approvedBy: null, approvedAt: null }],
      [],
      [],
      [],
      [],
    ]);
  });

  it('concurrent projections of one invoice, in any order, leave the newest state and only its index rows', async () => {
    const seqs = [7, 2, 11, 5, 12, 1, 9, 3, 10, 6, 4, 8];
    for (let round = 0; round < 8; round++) {
      const { id } = await invoiceWithRows(0);
      // Each snapshot hands the open task to a different user: any index row left by an older one shows.
      const state = (seq: number) =>
        snapshot(id, seq, {
          stage: seq === 12 ? 'review' : 'approval',
          tasks: [task(`${id}:a`, { assignees: [u('carol'), `user-${seq}`] })],
          history: [entry(`h${seq}`)],
        });
      const order = [...seqs.slice(round), ...seqs.slice(0, round)];
      const results = await Promise.all(order.map((seq) => project(state(seq), seq)));
      expect(results[order.indexOf(12)]).toEqual({ applied: true });

      const s = await stored(id);
      expect(s.invoice).toEqual({ stage: 'review', seq: 12 });
      expect(s.tasks.map((t) => t.assignees)).toEqual([[u('carol'), 'user-12']]);
      expect(s.index).toEqual([`:a ${u('carol')} assignee open`, `:a user-12 assignee open`].sort());
      expect(s.history).toHaveLength(12);
    }
  });
});
