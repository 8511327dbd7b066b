/**
 * No activity retries for ever on a deterministic error: every activity, fed bad input or bad
 * data, either answers (a handled outcome) or throws a non-retryable ApplicationFailure that the
 * workflow turns into exceptions review. A new activity without a case here fails the first test.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createActivities } from '../../activities';
import { connectDatabase, type Database } from '../../db/client';
import { codingRows, invoices } from '../../db/schema';
import { seedCompany, type SeededCompany } from '../../db/seed';
import { nonRetryable } from '../non-retryable';
import { createMailer } from '../../lib/mailer';

let database: Database;
let company: SeededCompany;
let activities: ReturnType<typeof createActivities>;

beforeAll(async () => {
  database = connectDatabase(process.env.TEST_DATABASE_URL!);
  company = await seedCompany(database.db, `a${randomBytes(4).toString('hex')}`);
  activities = createActivities({ db: database.db, mailer: createMailer(undefined), clock: () => new Date() });
});
afterAll(async () => {
  await database?.close();
});

/** An invoice row with the given amounts and coding rows, straight into the database. */
async function invoiceWith(amounts: { net: string; tax: string; gross: string }, rows: { amount: string; approvedBy?: string }[]) {
  const id = randomUUID();
  await database.db.insert(invoices).values({
    id,
    companyId: company.companyId,
    vendorId: company.vendorId,
    documentType: 'invoice',
    invoiceNumber: `BAD-${id}`,
    invoiceDate: '2026-11-01',
    dueDate: '2026-12-01',
    currency: 'EUR',
    ...amounts,
    workflowId: `invoice-${id}`,
    createdBy: company.users.alice,
  });
  if (rows.length > 0) {
    await database.db.insert(codingRows).values(
      rows.map((r, i) => ({
        invoiceId: id,
        rowNo: i + 1,
        kind: 'expense' as const,
        account: '6100',
        amount: r.amount,
        approvedBy: r.approvedBy ?? null,
      })),
    );
  }
  return id;
}

const malformed = { invoiceId: 'not-a-uuid', companyId: 5, request: { purpose: 'nothing' }, state: { stage: 'nowhere' } } as never;

describe('activities on bad input', () => {
  it('every activity refuses a malformed input as non-retryable', async () => {
    const names = Object.keys(activities) as (keyof typeof activities)[];
    expect(names.length).toBeGreaterThanOrEqual(13);
    for (const name of names) {
      const err = await nonRetryable(() => (activities[name] as (input: unknown) => Promise<unknown>)(malformed));
      expect([name, err.type]).toEqual([name, 'InvalidInput']);
    }
  });

  it('an invoice that does not exist is a non-retryable failure, not a retry for ever', async () => {
    const missing = { invoiceId: randomUUID() };
    for (const call of [
      () => activities.prepareRouting(missing),
      () => activities.loadRoute(missing),
      () => activities.postInvoice(missing),
      () => activities.prepareInvoice(missing),
    ]) {
      expect((await nonRetryable(call)).type).toBe('InvoiceNotFound');
    }
  });

  it('posting refuses for good: a zero amount (empty journal), coding that does not balance, unsigned rows', async () => {
    const dave = company.users.dave!;
    const zero = await invoiceWith({ net: '0.00', tax: '0.00', gross: '0.00' }, [{ amount: '0.00', approvedBy: dave }]);
    expect((await nonRetryable(() => activities.postInvoice({ invoiceId: zero }))).type).toBe('EmptyJournal');
    const unbalanced = await invoiceWith({ net: '100.00', tax: '0.00', gross: '100.00' }, [{ amount: '90.00', approvedBy: dave }]);
    expect((await nonRetryable(() => activities.postInvoice({ invoiceId: unbalanced }))).type).toBe('UnbalancedJournal');
    const unsigned = await invoiceWith({ net: '100.00', tax: '0.00', gross: '100.00' }, [{ amount: '100.00' }]);
    expect((await nonRetryable(() => activities.postInvoice({ invoiceId: unsigned }))).type).toBe('UnsignedRows');
    const byClerk = await invoiceWith({ net: '100.00', tax: '0.00', gross: '100.00' }, [
      { amount: '100.00', approvedBy: company.users.alice },
    ]);
    expect((await nonRetryable(() => activities.postInvoice({ invoiceId: byClerk }))).type).toBe('UnsignedRows');
  });

  it('routing lookups answer for unknown users and odd amounts instead of throwing', async () => {
    const request = {
      purpose: 'approval' as const,
      fallback: true,
      exclude: [],
      invoice: { companyId: company.companyId, currency: 'JPY', gross: '1001', confidential: false },
      rows: [{ id: randomUUID(), dimensions: {}, approvers: [] }],
    };
    const resolved = await activities.resolveAssignment({ companyId: company.companyId, request });
    expect(resolved.ok).toBe(true);
    expect(resolved.ok && [...resolved.assignees].sort()).toEqual([company.users.carol, company.users.dave].sort());
    expect(await activities.checkDelegate({ companyId: company.companyId, userId: 'nobody.at.all', request })).toMatchObject({
      ok: false,
      code: 'unknown_user',
    });
    expect(await activities.checkActor({ companyId: company.companyId, userId: 'nobody.at.all' })).toEqual({
      userId: 'nobody.at.all',
      admin: false,
      permissions: [],
    });
    expect(await activities.resolveAssigneeSpec({ companyId: company.companyId, spec: { users: ['nobody'] } })).toEqual([]);
  });

  it('the projection refuses a snapshot of an invoice that does not exist, for good', async () => {
    const state = { invoiceId: randomUUID(), stage: 'new' as const, seq: 1, tasks: [], rows: [], history: [] };
    expect((await nonRetryable(() => activities.recordState({ companyId: company.companyId, state, firstHistoryIndex: 0 }))).type).toBe(
      'InvoiceNotFound',
    );
  });
});
