/**
 * Intake under races, outages and hostile identifiers (issue 13): one invoice per submission
 * whatever runs at once, nothing lost when Temporal is away, credit notes numbered apart, no
 * existence leaked, and never a 500.
 */
import { Client, Connection } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { eq } from 'drizzle-orm';
import { createApp } from '../../api/app';
import { auditEvents, codingRows, invoiceReviews, invoices, vendors } from '../../db/schema';
import { firstStepActivities } from '../../lib/first-step';
import { createLogger } from '../../lib/logger';
import { invoiceWorkflowId, stateQuery } from '../../workflows/definitions';
import { invoiceBody, startStack, waitFor, waitForStage, type Stack } from '../harness';
import { fixture } from '../ubl-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const post = (body: unknown, as = 'alice') => stack.api('POST', '/api/v1/invoices', { as, body });

describe('intake', () => {
  it('ten identical submissions at once register one invoice: one 201, nine 409, no 500', async () => {
    const body = invoiceBody(stack);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(body)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    const id = answers.find((a) => a.status === 201)!.body.id as string;
    for (const a of answers.filter((x) => x.status === 409))
      expect(a.body.error).toMatchObject({ code: 'duplicate_invoice', details: [{ existingId: id }] });
  });

  it('ten submissions at once from a new supplier create one vendor', async () => {
    const vendor = { name: `Racing Supplies ${Date.now()}`, vatNumber: `GB${Date.now()}` };
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(invoiceBody(stack, { vendor }))));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const rows = await stack.database.db.select().from(vendors).where(eq(vendors.vatNumber, vendor.vatNumber));
    expect(rows).toHaveLength(1);
  });

  it('a credit note may carry the number of an invoice of the same supplier: separate series', async () => {
    const invoice = invoiceBody(stack);
    expect((await post(invoice)).status).toBe(201);
    expect((await post({ ...invoice, documentType: 'credit_note' })).status).toBe(201);
    expect((await post({ ...invoice, documentType: 'credit_note' })).status).toBe(409);
  });

  it('a duplicate of a confidential invoice does not tell its id to a caller who may not see it', async () => {
    const body = invoiceBody(stack, { confidential: true });
    const first = await post(body, 'erin');
    expect(first.status).toBe(201);
    const again = await post(body, 'alice');
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'duplicate_invoice', details: [] } } });
    expect((await post(body, 'erin')).body.error.details).toEqual([{ existingId: first.body.id }]);
  });

  /** An API process of its own on the test database, with the given Temporal client and first-step activities. */
  async function withApp<T>(deps: Partial<Parameters<typeof createApp>[0]>, use: (url: string) => Promise<T>): Promise<T> {
    const app = createApp({ database: stack.database, temporal: stack.temporal, logger: createLogger('api-test', 'silent'), ...deps });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      return await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
  const intakeAt = async (url: string, body = invoiceBody(stack)) => {
    const res = await fetch(`${url}/api/v1/invoices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.company.tokens.alice}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const invoiceRow = async (id: string) => (await stack.database.db.select().from(invoices).where(eq(invoices.id, id)))[0]!;

  it('commits first and starts the workflow after; with Temporal away, the worker starts it moments later from the same first step', async () => {
    // An API whose Temporal client reaches nothing: the start after commit fails.
    const connection = await Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '1 second' });
    const unreachable = new Client({ connection, namespace: 'default' });
    try {
      const id = await withApp({ temporal: unreachable }, intakeAt);
      // Intake took the first step: the clerks' task is there (the worker's starter may have started the workflow meanwhile).
      const before = await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' });
      expect(before.body).toMatchObject({
        stage: 'new',
        tasks: [{ state: 'open', assignees: expect.arrayContaining([stack.company.users.alice]) }],
      });
      const started = await waitFor(
        () => invoiceRow(id),
        (row) => row.workflowStartedAt instanceof Date,
      );
      expect(started.prepared).toBeNull();
      // The workflow started from that step, kept on the invoice: the same task and assignees, nothing prepared twice.
      const handle = stack.temporal.workflow.getHandle(invoiceWorkflowId(id));
      const [first] = (await handle.fetchHistory()).events ?? [];
      const input = JSON.parse(Buffer.from(first!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!).toString()) as {
        resume?: { firstStep?: boolean };
      };
      expect(input.resume?.firstStep).toBe(true);
      const state = await handle.query(stateQuery);
      expect(state.tasks.map((t) => ({ id: t.id, assignees: [...t.assignees].sort() }))).toEqual(
        (before.body.tasks as { id: string; assignees: string[] }[]).map((t) => ({ id: t.id, assignees: [...t.assignees].sort() })),
      );
      const audit = (await stack.api('GET', `/api/v1/invoices/${id}`, { as: 'erin' })).body.audit as { kind: string }[];
      expect(audit.filter((a) => a.kind === 'received')).toHaveLength(1);
      const registered = await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'alice', body: {} });
      expect(registered).toMatchObject({ status: 200, body: { stage: 'review' } });
    } finally {
      await connection.close();
    }
  });

  it('a first step that fails for now at intake is left to the workflow, which takes it with its retries', async () => {
    const real = firstStepActivities({ db: stack.database.db, clock: () => new Date() });
    let failures = 0;
    const flaky = {
      ...real,
      resolveAssignment: async (): Promise<never> => {
        failures += 1;
        throw new Error('connection reset (injected)');
      },
    };
    const id = await withApp({ firstStep: flaky }, intakeAt);
    expect(failures).toBe(1);
    expect((await invoiceRow(id)).prepared).toBeNull();
    const detail = await waitForStage(stack, id, 'new');
    expect(detail.tasks).toEqual([
      expect.objectContaining({ state: 'open', assignees: expect.arrayContaining([stack.company.users.alice]) }),
    ]);
    expect((await invoiceRow(id)).workflowStartedAt).toBeInstanceOf(Date);
  });

  it('a first step that fails part way keeps nothing of it: the invoice commits without its coding, review or audit lines', async () => {
    // Temporal away as well: intake answers only after its start has timed out, and meanwhile the
    // invoice is committed with nothing but intake's own writes (read before the worker's starter,
    // which leaves an invoice alone for its first second in the tests, starts it).
    const connection = await Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '1 second' });
    const unreachable = new Client({ connection, namespace: 'default' });
    const real = firstStepActivities({ db: stack.database.db, clock: () => new Date() });
    const flaky = {
      ...real,
      // Preparation has written the coding rows and the review by the time the assignees are resolved.
      resolveAssignment: async (): Promise<never> => {
        throw new Error('connection reset (injected)');
      },
    };
    const db = stack.database.db;
    const body = invoiceBody(stack);
    try {
      await withApp({ firstStep: flaky, temporal: unreachable }, async (url) => {
        const answered = intakeAt(url, body);
        const [row] = await waitFor(
          () =>
            db
              .select()
              .from(invoices)
              .where(eq(invoices.invoiceNumber, String(body.invoiceNumber))),
          (found) => found.length > 0,
        );
        const [rows, reviews, audit] = await Promise.all([
          db.select().from(codingRows).where(eq(codingRows.invoiceId, row!.id)),
          db.select().from(invoiceReviews).where(eq(invoiceReviews.invoiceId, row!.id)),
          db.select({ kind: auditEvents.kind }).from(auditEvents).where(eq(auditEvents.invoiceId, row!.id)),
        ]);
        expect(row).toMatchObject({ prepared: null, workflowStartedAt: null, stage: 'new' });
        expect(rows).toEqual([]);
        expect(reviews).toEqual([]);
        expect(audit).toEqual([{ kind: 'intake' }]);
        expect(await answered).toBe(row!.id);
        // The worker's starter starts it, and the workflow takes the first step with its retries.
        const detail = await waitForStage(stack, row!.id, 'new');
        expect(detail.tasks).toEqual([
          expect.objectContaining({ state: 'open', assignees: expect.arrayContaining([stack.company.users.alice]) }),
        ]);
        expect(await db.select().from(codingRows).where(eq(codingRows.invoiceId, row!.id))).not.toEqual([]);
      });
    } finally {
      await connection.close();
    }
  });

  it('identifiers that are not ours are 404 or 400, never 500', async () => {
    const notUuid = '------------------------------------';
    expect((await stack.api('GET', `/api/v1/invoices/${notUuid}`, { as: 'alice' })).status).toBe(404);
    expect((await stack.api('GET', `/api/v1/invoices/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz`, { as: 'alice' })).status).toBe(404);
    const cursor = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');
    for (const forged of [
      cursor({ at: '2026-01-01T00:00:00Z', id: 'not-a-uuid' }),
      cursor(['2026-01-01 00:00:00+00', 'not-a-uuid']),
      cursor(['2026-13-45 99:99:99+00', '0b5e8d56-6a6f-4f6e-9d2c-3c1b2a1f0e9d']),
      'not base64 at all %%%',
    ]) {
      expect((await stack.api('GET', `/api/v1/invoices?cursor=${encodeURIComponent(forged)}`, { as: 'alice' })).status).toBe(400);
    }
    expect((await stack.api('GET', `/api/v1/work-queue?cursor=${cursor(['2026-13-45 99:99:99+00', 'x'])}`, { as: 'alice' })).status).toBe(
      400,
    );
    const longKey = 'k'.repeat(1100);
    const withKey = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      body: invoiceBody(stack),
      headers: { 'idempotency-key': longKey },
    });
    expect(withKey.status).toBe(400);
  });

  it('accepts the documented 10,000 lines, and answers 413 with the limit above it', async () => {
    const line = { description: 'Bolt', quantity: '1', unitPrice: '0.10', net: '0.10', taxRate: '25' };
    const at10k = invoiceBody(stack, { net: '1000.00', tax: '250.00', gross: '1250.00', lines: Array(10_000).fill(line) });
    const accepted = await post(at10k);
    expect(accepted.status).toBe(201);
    const detail = await waitForStage(stack, accepted.body.id, 'new');
    expect(detail.lines as unknown[]).toHaveLength(10_000);
    const over = await post({ ...at10k, invoiceNumber: `${String(at10k.invoiceNumber)}-b`, lines: Array(10_001).fill(line) });
    expect(over).toMatchObject({ status: 413, body: { error: { code: 'too_many_lines', message: expect.stringContaining('10000') } } });
  });

  describe('one validation for every entrance: JSON and UBL refuse the same things with 422, never 500, and store nothing', () => {
    const count = async () => (await stack.database.db.select({ id: invoices.id }).from(invoices)).length;

    /** The minimal Peppol example with one change. */
    const ubl = (change: (xml: string) => string) =>
      change(
        fixture('Invoice-Min_content_with_VAT.xml')
          .toString('utf8')
          .replace('<cbc:ID>2018-112</cbc:ID>', `<cbc:ID>H-${Date.now()}-${Math.floor(Math.random() * 1e9)}</cbc:ID>`),
      );
    const postXml = (xml: string) =>
      stack.api('POST', '/api/v1/invoices', { as: 'alice', rawBody: xml, headers: { 'content-type': 'application/xml' } });

    it.each([
      [
        'an issue date that does not exist',
        (x: string) => x.replace('<cbc:IssueDate>2018-07-31</cbc:IssueDate>', '<cbc:IssueDate>2026-02-30</cbc:IssueDate>'),
        '/Invoice/cbc:IssueDate',
      ],
      [
        'year 0000',
        (x: string) => x.replace('<cbc:IssueDate>2018-07-31</cbc:IssueDate>', '<cbc:IssueDate>0000-01-01</cbc:IssueDate>'),
        '/Invoice/cbc:IssueDate',
      ],
      [
        'a VAT percentage that is no number',
        (x: string) => x.replace(/(<cac:Item>[\s\S]*?<cbc:Percent>)25(<\/cbc:Percent>)/, '$1abc$2'),
        '/Invoice/cac:InvoiceLine[1]',
      ],
      [
        'a VAT rate of 100000',
        (x: string) => x.replace(/(<cac:Item>[\s\S]*?<cbc:Percent>)25(<\/cbc:Percent>)/, '$1100000$2'),
        '/Invoice/cac:InvoiceLine[1]',
      ],
      [
        'a 200,000-digit quantity',
        (x: string) => x.replace('unitCode="MON">1<', `unitCode="MON">${'9'.repeat(200_000)}<`),
        '/Invoice/cac:InvoiceLine[1]',
      ],
      [
        'a 10,000-character invoice number',
        (x: string) => x.replace(/<cbc:ID>H-[^<]*<\/cbc:ID>/, `<cbc:ID>${'N'.repeat(10_000)}</cbc:ID>`),
        '/Invoice/cbc:ID',
      ],
      [
        'a 10,000-character VAT id',
        (x: string) => x.replace('<cbc:CompanyID>SE123451234501</cbc:CompanyID>', `<cbc:CompanyID>${'S'.repeat(10_000)}</cbc:CompanyID>`),
        '/Invoice/cac:AccountingSupplierParty',
      ],
      [
        'markup in the supplier name',
        (x: string) =>
          x.replace(
            '<cbc:RegistrationName>Säljbolaget AB</cbc:RegistrationName>',
            '<cbc:RegistrationName>&lt;script&gt;alert(1)&lt;/script&gt;</cbc:RegistrationName>',
          ),
        '/Invoice/cac:AccountingSupplierParty',
      ],
    ])('UBL with %s', async (_what, change, where) => {
      const before = await count();
      const res = await postXml(ubl(change));
      expect(res.status).toBe(422);
      expect(res.body.error.details.map((d: { path: string }) => d.path).join(' ')).toContain(where);
      expect(await count()).toBe(before);
    });

    it('UBL with a contact e-mail carrying a header (CR/LF) is refused', async () => {
      const withMail = ubl((x) =>
        x.replace(
          '<cac:PartyLegalEntity>',
          '<cac:Contact><cbc:ElectronicMail>a@b.example&#13;&#10;Bcc: victim@c.example</cbc:ElectronicMail></cac:Contact><cac:PartyLegalEntity>',
        ),
      );
      const res = await postXml(withMail);
      expect(res.status).toBe(422);
    });

    it.each([
      ['a NUL byte in the invoice number', { invoiceNumber: 'A\u0000B' }, 'invoiceNumber'],
      [
        'a NUL byte in a line description',
        { lines: [{ description: 'x\u0000', quantity: '1', unitPrice: '1000.00', net: '1000.00', taxRate: '25' }] },
        'lines.0.description',
      ],
      ['year 0000', { invoiceDate: '0000-01-01' }, 'invoiceDate'],
      ['a 30th of February', { dueDate: '2026-02-30' }, 'dueDate'],
      ['a negative net with a larger tax', { net: '-100.00', tax: '200.00', gross: '100.00', lines: [] }, 'net'],
      ['a vendor e-mail with a header', { vendor: { name: 'Mail Co', email: 'a@b.example\r\nBcc: x@y.example' } }, 'vendor.email'],
    ])('JSON with %s', async (_what, change, path) => {
      const before = await count();
      const res = await post(invoiceBody(stack, change));
      expect(res.status).toBe(422);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
      expect(await count()).toBe(before);
    });
  });

  it('answers carry security headers, and API answers are never cached', async () => {
    for (const res of [await stack.api('GET', '/api/v1/invoices', { as: 'alice' }), await stack.api('GET', '/api/v1/invoices')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});
