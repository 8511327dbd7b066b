import { randomUUID } from 'node:crypto';
import { invoiceBody, startStack, waitForStage, type Stack } from '../harness';
import { seedCompany } from '../../db/seed';
import { invoices } from '../../db/schema';
import { eq } from 'drizzle-orm';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const errorShape = (status: number, code: string) => ({
  status,
  body: { error: { code, message: expect.any(String), details: expect.any(Array) } },
});

async function count(): Promise<number> {
  const rows = await stack.database.db.select({ id: invoices.id }).from(invoices).where(eq(invoices.companyId, stack.company.companyId));
  return rows.length;
}

describe('API errors', () => {
  it('401 without a token and with a wrong one', async () => {
    expect(await stack.api('GET', '/api/v1/work-queue')).toMatchObject(errorShape(401, 'unauthenticated'));
    expect(await stack.api('GET', '/api/v1/work-queue', { as: 'raw:not-a-token' })).toMatchObject(errorShape(401, 'unauthenticated'));
    expect(await stack.api('GET', '/api/v1/work-queue', { headers: { authorization: 'Basic abc' } })).toMatchObject(
      errorShape(401, 'unauthenticated'),
    );
  });

  it('400 for malformed JSON, and nothing is stored', async () => {
    const before = await count();
    const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', rawBody: '{"vendor": ' });
    expect(res).toMatchObject(errorShape(400, 'malformed_json'));
    expect(await count()).toBe(before);
  });

  it('422 listing every problem for missing fields, wrong types and sums that do not add up', async () => {
    const before = await count();
    const body = invoiceBody(stack, { net: 1000, currency: 'EURO', gross: '1250.01' });
    delete body.invoiceNumber;
    const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body });
    expect(res).toMatchObject(errorShape(422, 'validation_failed'));
    const paths = (res.body.error.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['invoiceNumber', 'net', 'currency']));
    const sums = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, { gross: '1250.01' }) });
    expect(sums).toMatchObject(errorShape(422, 'validation_failed'));
    expect(sums.body.error.details).toEqual([{ path: 'gross', message: 'net 1000.00 plus tax 250.00 is not the gross 1250.01' }]);
    const cents = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      body: invoiceBody(stack, { tax: '250.005', gross: '1250.005' }),
    });
    expect(cents.status).toBe(422);
    expect(await count()).toBe(before);
  });

  it('422 for a money amount sent as a number, and for an unknown vendor id', async () => {
    const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, { gross: 1250 }) });
    expect(res).toMatchObject(errorShape(422, 'validation_failed'));
    const unknownVendor = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      body: invoiceBody(stack, { vendor: { id: randomUUID() } }),
    });
    expect(unknownVendor).toMatchObject(errorShape(422, 'validation_failed'));
  });

  it('404 for an unknown invoice id, a malformed one, and another company invoice', async () => {
    expect(await stack.api('GET', `/api/v1/invoices/${randomUUID()}`, { as: 'alice' })).toMatchObject(errorShape(404, 'not_found'));
    expect(await stack.api('GET', '/api/v1/invoices/nope', { as: 'alice' })).toMatchObject(errorShape(404, 'not_found'));
    expect(await stack.api('POST', `/api/v1/invoices/${randomUUID()}/actions/approve`, { as: 'alice', body: {} })).toMatchObject(
      errorShape(404, 'not_found'),
    );

    const created = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack) });
    const other = await seedCompany(stack.database.db, `${stack.company.users.alice!.split('.')[0]}x`);
    const outsider = `raw:${other.tokens.erin}`;
    expect(await stack.api('GET', `/api/v1/invoices/${created.body.id}`, { as: outsider })).toMatchObject(errorShape(404, 'not_found'));
    expect(await stack.api('POST', `/api/v1/invoices/${created.body.id}/actions/approve`, { as: outsider, body: {} })).toMatchObject(
      errorShape(404, 'not_found'),
    );
    const theirQueue = await stack.api('GET', '/api/v1/work-queue', { as: `raw:${other.tokens.alice}` });
    expect(theirQueue.body.items).toEqual([]);
  });

  it('404 for a confidential invoice to a user without clearance', async () => {
    const created = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, { confidential: true }) });
    expect(created.status).toBe(201);
    expect(await stack.api('GET', `/api/v1/invoices/${created.body.id}`, { as: 'bob' })).toMatchObject(errorShape(404, 'not_found'));
    const list = await stack.api('GET', '/api/v1/invoices', { as: 'bob' });
    expect((list.body.items as { id: string }[]).map((i) => i.id)).not.toContain(created.body.id);
  });

  it('422 for a rejection without a reason and an unknown query value; 404 for an unknown action', async () => {
    const created = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack) });
    await waitForStage(stack, created.body.id, 'new');
    expect(await stack.api('POST', `/api/v1/invoices/${created.body.id}/actions/reject`, { as: 'alice', body: {} })).toMatchObject(
      errorShape(422, 'validation_failed'),
    );
    expect(await stack.api('POST', `/api/v1/invoices/${created.body.id}/actions/explode`, { as: 'alice', body: {} })).toMatchObject(
      errorShape(404, 'not_found'),
    );
    expect(await stack.api('GET', '/api/v1/work-queue?queue=everything', { as: 'alice' })).toMatchObject(
      errorShape(422, 'validation_failed'),
    );
    expect(await stack.api('GET', '/api/v1/work-queue?cursor=zzz', { as: 'alice' })).toMatchObject(errorShape(400, 'bad_cursor'));
  });

  it('health and readiness answer without a token', async () => {
    expect(await stack.api('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await stack.api('GET', '/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { database: 'ok', temporal: 'ok' } },
    });
    const spec = await stack.api('GET', '/openapi.json');
    expect(spec.body.paths['/api/v1/invoices']).toBeDefined();
  });
});
