import { eq, sql } from 'drizzle-orm';
import { agreementMatches, agreements, journalEntries } from '../../db/schema';
import { invoiceWorkflowId } from '../../workflows/definitions';
import { recordHistory } from '../histories';
import { invoiceBody, startStack, vendorWithFlow, waitFor, waitForStage, type Stack } from '../harness';
import { fixture } from '../ubl-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const u = (name: string) => stack.company.users[name]!;

async function createAgreement(overrides: Record<string, unknown> = {}) {
  return stack.api('POST', '/api/v1/agreements', {
    as: 'erin',
    body: {
      vendorId: stack.company.vendorId,
      amountFrom: '100.00',
      amountTo: '2000.00',
      days: 1,
      codingTemplateId: stack.company.codingTemplateId,
      approvalUserId: u('dave'),
      ...overrides,
    },
  });
}

async function intake(overrides: Record<string, unknown>): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function agreementTotal(id: string): Promise<string> {
  const [row] = await stack.database.db.select().from(agreements).where(eq(agreements.id, id));
  return row!.cumulativeTotal;
}

describe('agreement definitions', () => {
  it('are validated, audited, and only admins write them', async () => {
    const bad = await createAgreement({ amountFrom: '500.00', amountTo: '100.00', days: 0, approvalUserId: null });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(['days', 'amountTo', 'approvalUserId']),
    );
    const flow = (await stack.api('GET', '/api/v1/flow-templates', { as: 'erin' })).body.items[0].id;
    expect((await createAgreement({ flowTemplateId: flow })).body.error.details).toEqual([expect.objectContaining({ path: 'stage' })]);
    expect((await createAgreement({ flowTemplateId: flow, stage: 'control' })).body.error.details).toEqual([
      expect.objectContaining({ path: 'stage' }),
    ]);
    expect((await stack.api('POST', '/api/v1/agreements', { as: 'bob', body: {} })).status).toBe(403);

    const created = await createAgreement({ referencePattern: 'NEVER-%' });
    expect(created.status).toBe(201);
    const changed = await stack.api('PUT', `/api/v1/agreements/${created.body.id}`, {
      as: 'erin',
      body: { ...created.body, id: undefined, cumulativeTotal: undefined, days: 30 },
    });
    expect(changed).toMatchObject({ status: 200, body: { days: 30 } });
    expect((await stack.api('DELETE', `/api/v1/agreements/${created.body.id}`, { as: 'erin' })).status).toBe(204);
    expect((await stack.api('GET', `/api/v1/agreements/${created.body.id}`, { as: 'erin' })).status).toBe(404);
  });
});

describe('agreement invoices', () => {
  it('a touchless agreement invoice goes from intake to posted with nobody touching it; a near miss says which criterion failed', async () => {
    const agreement = (await createAgreement({ referencePattern: 'SUB-2026.%', amountFrom: '1000.00', amountTo: '1300.00' })).body;
    const id = await intake({ buyerReference: 'SUB-2026.11' });
    const detail = await waitForStage(stack, id, 'posted');
    expect(detail.codingRows).toEqual(
      expect.arrayContaining([expect.objectContaining({ approvalSignature: expect.objectContaining({ by: u('dave') }) })]),
    );
    expect((detail.audit as { kind: string }[]).map((a) => a.kind)).toEqual(expect.arrayContaining(['agreement_matched', 'posting']));
    expect(await agreementTotal(agreement.id)).toBe('1250.00');
    const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
    expect(await handle.result()).toMatchObject({ stage: 'posted' });
    await recordHistory(handle, 'v3-touchless-agreement-invoice');

    const miss = await intake({ buyerReference: 'SUB-2026X11' });
    const missed = await waitForStage(stack, miss, 'new');
    expect(missed.audit).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'agreement_miss', message: expect.stringContaining('(reference)') })]),
    );
    expect(await agreementTotal(agreement.id)).toBe('1250.00');
    await stack.api('DELETE', `/api/v1/agreements/${agreement.id}`, { as: 'erin' });
  });

  it('with a flow template, the invoice is sent up to the given stage and waits there', async () => {
    const vendorId = await vendorWithFlow(stack, 'Agreement vendor', [
      { kind: 'review', assignees: { users: [u('bob')] } },
      { kind: 'approval', assignees: { roles: ['approver'] } },
    ]);
    const flow = (await stack.api('GET', `/api/v1/vendors/${vendorId}`, { as: 'erin' })).body.flowTemplateId;
    const agreement = (await createAgreement({ vendorId, flowTemplateId: flow, stage: 'approval', approvalUserId: null })).body;
    const id = await intake({ vendor: { id: vendorId }, contractReference: 'anything' });
    await waitForStage(stack, id, 'approval');
    expect((await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'carol', body: {} })).body).toMatchObject({
      stage: 'payment',
    });
    expect(await agreementTotal(agreement.id)).toBe('1250.00');
  });

  it('counts each invoice once under parallel intake and a worker restart, and never passes the cap by more than one invoice', async () => {
    const vendor = (await stack.database.db.execute(
      sql`insert into vendors (company_id, name) values (${stack.company.companyId}, 'Utility Ltd') returning id`,
    )) as unknown as { id: string }[];
    const vendorId = vendor[0]!.id;
    const agreement = (await createAgreement({ vendorId, days: 1, cumulativeCap: '10000.00' })).body;
    // 12 invoices of 1,250.00 on different days: 8 fit under 10,000.00, the 9th crosses it, 3 are left over.
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => intake({ vendor: { id: vendorId }, invoiceDate: `2026-10-${String(i + 1).padStart(2, '0')}` })),
    );
    await stack.restartWorker();
    const states = await Promise.all(
      ids.map((id) =>
        waitFor(
          () => stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' }),
          (r) => ['posted', 'new'].includes(r.body.stage) && r.body.tasks.length + (r.body.posting ? 1 : 0) > 0,
          60_000,
        ),
      ),
    );
    const matched = await stack.database.db.select().from(agreementMatches).where(eq(agreementMatches.agreementId, agreement.id));
    expect(matched).toHaveLength(9);
    expect(await agreementTotal(agreement.id)).toBe('11250.00');
    expect(states.filter((s) => s.body.stage === 'posted')).toHaveLength(9);
    expect(states.filter((s) => s.body.stage === 'new')).toHaveLength(3);
    const posted = await stack.database.db
      .select()
      .from(journalEntries)
      .where(sql`${journalEntries.invoiceId} in ${ids}`);
    expect(posted).toHaveLength(9);

    const reset = await stack.api('POST', `/api/v1/agreements/${agreement.id}/reset-cumulative`, { as: 'erin' });
    expect(reset.body.cumulativeTotal).toBe('0');
  });

  it('a Peppol invoice with a contract reference is handled end to end', async () => {
    const doc = fixture('Invoice-Min_content_with_VAT.xml')
      .toString('utf8')
      .replace('<cbc:ID>2018-112</cbc:ID>', '<cbc:ID>AGR-UBL-1</cbc:ID>')
      .replace(
        '<cbc:BuyerReference>ACE22</cbc:BuyerReference>',
        '<cbc:BuyerReference>ACE22</cbc:BuyerReference><cac:ContractDocumentReference><cbc:ID>FRAME-42</cbc:ID></cac:ContractDocumentReference>',
      );
    const first = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      rawBody: doc,
      headers: { 'content-type': 'application/xml' },
    });
    expect(first.status).toBe(201);
    const vendorId = (await stack.api('GET', `/api/v1/invoices/${first.body.id}`, { as: 'erin' })).body.vendor.id;
    await createAgreement({ vendorId, referencePattern: 'FRAME-*', amountFrom: '400.00', amountTo: '600.00' });
    const second = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      rawBody: doc.replace('AGR-UBL-1', 'AGR-UBL-2').replace('2018-07-31', '2018-08-31'),
      headers: { 'content-type': 'application/xml' },
    });
    expect(second.status).toBe(201);
    const detail = await waitForStage(stack, second.body.id, 'posted');
    expect(detail).toMatchObject({ contractReference: 'FRAME-42', gross: '500.00' });
  });
});
