/**
 * SPEC 2.5: sales invoices through the API, the preview with blockers in a clerk's words, both
 * posting modes, a change between preview and post, post and pay, and who may do what.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { createApp } from '../../api/app';
import { journalEntries, salesInvoices } from '../../db/schema';
import { seedCompany } from '../../db/seed';
import { createLogger } from '../../lib/logger';
import { startStack, waitFor, type Stack } from '../harness';
import { bulkSalesInvoices, salesMasterData } from '../sales-fixtures';

jest.setTimeout(120_000);

let stack: Stack;
const ids: string[] = [];
let unreviewed: string;
let cash: string;
let unserialised: string;
let itemsOfTheRest = 0;
let customer: string;
let cashCustomer: string;
let plain: string;
let subscription: string;
let serialised: string;

async function created(res: { status: number; body: { id?: string } }): Promise<string> {
  if (res.status !== 201) throw new Error(`refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id!;
}

const invoice = (n: number, customerId: string, lines: unknown[]) => ({
  customer: { id: customerId },
  invoiceNumber: `S-${n}`,
  invoiceDate: '2026-11-02',
  currency: 'EUR',
  lines,
});

/** A promise and its resolve, to hold an activity until the test lets it go. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Once armed, holds the next sales chunk after it posted and before it answers the workflow (so the
 * test cancels the run while that chunk is under way, and the cancel lands between chunks).
 */
const chunkGate = { armed: false, held: deferred(), release: deferred() };

/** Entries per sales invoice and how many of them do not balance. */
async function journalsOf(invoiceIds: string[]) {
  const [row] = await stack.database.db.execute<{ entries: number; invoices: number; unbalanced: number }>(sql`
    select count(*)::int as entries, count(distinct e.sales_invoice_id)::int as invoices,
      count(*) filter (where (select sum(debit) - sum(credit) from journal_lines l where l.entry_id = e.id) <> 0)::int as unbalanced
    from journal_entries e where e.sales_invoice_id in ${invoiceIds}`);
  return row!;
}

beforeAll(async () => {
  stack = await startStack({
    wrapActivities: (a) => ({
      ...a,
      postSalesChunk: async (input) => {
        const result = await a.postSalesChunk(input);
        if (chunkGate.armed) {
          chunkGate.armed = false;
          chunkGate.held.resolve();
          await chunkGate.release.promise;
        }
        return result;
      },
    }),
  });
  const post = (path: string, body: unknown, as = 'alice') => stack.api('POST', `/api/v1${path}`, { as, body });
  customer = await created(await post('/customers', { name: 'Nordic Retail AB', vatNumber: 'SE556000000001', paymentTerms: 'net_30' }));
  cashCustomer = await created(await post('/customers', { name: 'Walk-in Café', paymentTerms: 'cash_sales_only' }));
  plain = await created(await post('/products', { sku: 'P-1', name: 'Paper', unitPrice: '4.99', taxRate: '25' }));
  subscription = await created(
    await post('/products', { sku: 'SUB-1', name: 'Support subscription', unitPrice: '120.00', taxRate: '25', createsCustomerItem: true }),
  );
  serialised = await created(
    await post('/products', {
      sku: 'HW-1',
      name: 'Router',
      unitPrice: '310.50',
      taxRate: '25',
      requiresSerialNumbers: true,
      createsCustomerItem: true,
    }),
  );
  expect((await stack.api('PATCH', '/api/v1/sales-settings', { as: 'erin', body: { requireCustomerItemReview: true } })).status).toBe(200);

  for (let n = 1; n <= 50; n++) {
    let lines: unknown[] = [{ productId: plain, quantity: String(n), unitPrice: '4.99' }];
    let who = customer;
    if (n === 10)
      lines = [...lines, { productId: subscription, quantity: '1' }]; // unreviewed item
    else if (n === 20) who = cashCustomer;
    else if (n === 30) lines = [{ productId: serialised, quantity: '2', serialNumbers: ['SN-1'], customerItem: { reviewed: true } }];
    else if (n % 5 === 0) {
      lines = [
        ...lines,
        { productId: subscription, quantity: '1', customerItem: { reviewed: true, description: `Support for shop ${n}` } },
      ];
      itemsOfTheRest += 1;
    }
    const id = await created(await post('/sales-invoices', invoice(n, who, lines)));
    ids.push(id);
    if (n === 10) unreviewed = id;
    if (n === 20) cash = id;
    if (n === 30) unserialised = id;
  }
});

afterAll(async () => {
  await stack.stop();
});

test('a sales invoice adds up exactly from its lines, and a total that does not agree is refused', async () => {
  const res = await stack.api('GET', `/api/v1/sales-invoices/${ids[2]}`, { as: 'bob' });
  expect(res.body).toMatchObject({ net: '14.97', tax: '3.74', gross: '18.71', state: 'unposted', dueDate: '2026-12-02' });
  const wrong = await stack.api('POST', '/api/v1/sales-invoices', {
    as: 'alice',
    body: { ...invoice(999, customer, [{ productId: plain, quantity: '3' }]), gross: '18.72' },
  });
  expect(wrong.status).toBe(422);
  expect(wrong.body.error.details[0]).toMatchObject({ path: 'gross', message: 'the lines add up to 18.71 EUR, not 18.72' });
});

test('the unposted list filters by customer, date and amount, a page at a time', async () => {
  const page = await stack.api('GET', `/api/v1/sales-invoices?state=unposted&customerId=${cashCustomer}`, { as: 'bob' });
  expect(page.body.items.map((i: { id: string }) => i.id)).toEqual([cash]);
  const big = await stack.api('GET', '/api/v1/sales-invoices?state=unposted&minGross=300&limit=5', { as: 'bob' });
  expect(big.body.items).toHaveLength(5);
  const next = await stack.api('GET', `/api/v1/sales-invoices?state=unposted&minGross=300&limit=5&cursor=${big.body.nextCursor}`, {
    as: 'bob',
  });
  expect(next.status).toBe(200);
  expect(next.body.items[0].id).not.toBe(big.body.items[0].id);
});

test('the preview lists exactly the three blocked invoices with their reasons and counts the customer items of the rest', async () => {
  const res = await stack.api('POST', '/api/v1/sales-invoices/post-preview', { as: 'alice', body: { ids } });
  expect(res.status).toBe(200);
  expect(res.body.summary).toMatchObject({ selected: 50, postable: 47, blocked: 3, customerItemsToCreate: itemsOfTheRest });
  const blocked = res.body.invoices.filter((i: { postable: boolean }) => !i.postable);
  expect(
    Object.fromEntries(blocked.map((i: { id: string; blockers: { code: string }[] }) => [i.id, i.blockers.map((b) => b.code)])),
  ).toEqual({
    [unreviewed]: ['customer_item_not_reviewed'],
    [cash]: ['cash_sales_only'],
    [unserialised]: ['serial_number_missing'],
  });
  const messages = blocked.flatMap((i: { blockers: { message: string }[] }) => i.blockers.map((b) => b.message));
  expect(messages).toEqual(
    expect.arrayContaining([
      'The customer item of line 2 (Support subscription) needs to be reviewed: open the invoice and confirm its details',
      'Walk-in Café has cash-sales-only payment terms: post this invoice on its own, together with its payment (Post and pay)',
      'Line 1 (Router) needs 2 serial numbers; 1 is missing: load them on the invoice line',
    ]),
  );
});

test('all-or-nothing refuses the whole selection with the reasons, and posts nothing', async () => {
  const preview = await stack.api('POST', '/api/v1/sales-invoices/post-preview', { as: 'alice', body: { ids } });
  const res = await stack.api('POST', '/api/v1/sales-invoices/post', {
    as: 'alice',
    body: { previewToken: preview.body.previewToken, confirm: true, mode: 'all-or-nothing' },
  });
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe('not_all_postable');
  expect(res.body.error.details.map((d: { id: string }) => d.id).sort()).toEqual([unreviewed, cash, unserialised].sort());
  expect((await journalsOf(ids)).entries).toBe(0);
});

test('a change between preview and post answers 409 and posts nothing', async () => {
  const preview = await stack.api('POST', '/api/v1/sales-invoices/post-preview', { as: 'alice', body: { ids } });
  const changed = await stack.api('PUT', `/api/v1/sales-invoices/${unserialised}/lines/1/serial-numbers`, {
    as: 'alice',
    body: { serialNumbers: ['SN-1'] }, // the same serial number again: still missing one, but a new version
  });
  expect(changed.status).toBe(200);
  const res = await stack.api('POST', '/api/v1/sales-invoices/post', {
    as: 'alice',
    body: { previewToken: preview.body.previewToken, confirm: true, mode: 'postable-only' },
  });
  expect(res.status).toBe(409);
  expect(res.body.error).toMatchObject({ code: 'changed_since_preview', details: [{ id: unserialised }] });
  expect((await journalsOf(ids)).entries).toBe(0);
});

test('postable-only posts the 47 as 47 balanced journals with their customer items, and names the refused ones', async () => {
  const preview = await stack.api('POST', '/api/v1/sales-invoices/post-preview', { as: 'alice', body: { ids } });
  expect(
    (
      await stack.api('POST', '/api/v1/sales-invoices/post', {
        as: 'bob',
        body: { previewToken: preview.body.previewToken, confirm: true, mode: 'postable-only' },
      })
    ).status,
  ).toBe(403);
  const body = { previewToken: preview.body.previewToken, confirm: true, mode: 'postable-only' };
  const res = await stack.api('POST', '/api/v1/sales-invoices/post', { as: 'alice', body });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ total: 47, customerItemsToCreate: itemsOfTheRest });
  expect(res.body.refused.map((r: { id: string }) => r.id).sort()).toEqual([unreviewed, cash, unserialised].sort());
  // The same confirmation again is the same run.
  const again = await stack.api('POST', '/api/v1/sales-invoices/post', { as: 'alice', body });
  expect(again.body).toMatchObject({ postingId: res.body.postingId, repeated: true });

  const done = await waitFor(
    () => stack.api('GET', `/api/v1/sales-postings/${res.body.postingId}`, { as: 'bob' }),
    (r) => r.body.state === 'completed',
  );
  expect(done.body).toMatchObject({ total: 47, posted: 47, customerItems: itemsOfTheRest, refused: [] });
  expect(await journalsOf(ids)).toEqual({ entries: 47, invoices: 47, unbalanced: 0 });
  const [items] = await stack.database.db.execute<{ active: number }>(
    sql`select count(*)::int as active from customer_items where sales_invoice_id in ${ids} and state = 'active'`,
  );
  expect(items!.active).toBe(itemsOfTheRest);
  const detail = await stack.api('GET', `/api/v1/sales-invoices/${ids[3]}`, { as: 'alice' });
  expect(detail.body.state).toBe('posted');
  expect(detail.body.posting.lines).toEqual([
    { account: '1500', debit: '24.95', credit: '0.00', dimensions: {} },
    { account: '3000', debit: '0.00', credit: '19.96', dimensions: {} },
    { account: '2610', debit: '0.00', credit: '4.99', dimensions: { taxRate: '25' } },
  ]);
  // A posted invoice no longer changes.
  const locked = await stack.api('POST', `/api/v1/sales-invoices/${ids[4]}/lines/2/customer-item/review`, { as: 'alice', body: {} });
  expect(locked.status).toBe(409);
  expect((await stack.api('POST', `/api/v1/sales-invoices/${ids[9]}/lines/2/customer-item/review`, { as: 'alice', body: {} })).status).toBe(
    200,
  );
});

test('fixed invoices post afterwards, with NDJSON progress to the end', async () => {
  await stack.api('PUT', `/api/v1/sales-invoices/${unserialised}/lines/1/serial-numbers`, {
    as: 'alice',
    body: { serialNumbers: ['SN-1', 'SN-2'] },
  });
  const preview = await stack.api('POST', '/api/v1/sales-invoices/post-preview', {
    as: 'alice',
    body: { ids: [unreviewed, unserialised] },
  });
  expect(preview.body.summary).toMatchObject({ postable: 2, customerItemsToCreate: 2 });
  const res = await fetch(`${stack.baseUrl}/api/v1/sales-invoices/post`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.company.tokens.alice}`, 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify({ previewToken: preview.body.previewToken, confirm: true, mode: 'all-or-nothing' }),
  });
  const lines = (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines[0]).toMatchObject({ total: 2 });
  expect(lines.at(-1)).toMatchObject({ done: true, state: 'completed', posted: 2, customerItems: 2 });
});

test('post and pay: a cash sale is posted with its payment in one balanced journal; a payment that is not the gross is refused', async () => {
  const gross = (await stack.api('GET', `/api/v1/sales-invoices/${cash}`, { as: 'alice' })).body.gross as string;
  const short = await stack.api('POST', `/api/v1/sales-invoices/${cash}/post-and-pay`, {
    as: 'alice',
    body: { payment: { method: 'cash', amount: '1.00', date: '2026-11-02' } },
  });
  expect(short.status).toBe(422);
  expect(short.body.error.code).toBe('payment_mismatch');
  const payment = { method: 'card', amount: gross, date: '2026-11-02' };
  const res = await stack.api('POST', `/api/v1/sales-invoices/${cash}/post-and-pay`, { as: 'alice', body: { payment } });
  expect(res.status).toBe(200);
  expect(await journalsOf([cash])).toEqual({ entries: 1, invoices: 1, unbalanced: 0 });
  const detail = await stack.api('GET', `/api/v1/sales-invoices/${cash}`, { as: 'alice' });
  expect(detail.body.posting.lines).toEqual(
    expect.arrayContaining([
      { account: '1930', debit: gross, credit: '0.00', dimensions: { paymentMethod: 'card', paymentDate: '2026-11-02' } },
      { account: '1500', debit: '0.00', credit: gross, dimensions: {} },
    ]),
  );
  const twice = await stack.api('POST', `/api/v1/sales-invoices/${cash}/post-and-pay`, { as: 'alice', body: { payment } });
  expect(twice.status).toBe(409);
  const notCash = await stack.api('POST', `/api/v1/sales-invoices/${ids[0]}/post-and-pay`, { as: 'alice', body: { payment } });
  expect(notCash.status).toBe(422);
  const entries = await stack.database.db.select().from(journalEntries).where(inArray(journalEntries.salesInvoiceId, ids));
  expect(entries).toHaveLength(50);
});

test("another company's invoices, customers and postings are not there (404); a reviewer reads but does not post", async () => {
  const other = await seedCompany(stack.database.db, `o${randomBytes(4).toString('hex')}`);
  const as = `raw:${other.tokens.alice}`;
  expect((await stack.api('GET', `/api/v1/sales-invoices/${ids[0]}`, { as })).status).toBe(404);
  expect((await stack.api('GET', `/api/v1/customers/${customer}`, { as })).status).toBe(404);
  expect(
    (
      await stack.api('POST', `/api/v1/sales-invoices/${cash}/post-and-pay`, {
        as,
        body: { payment: { method: 'cash', amount: '1.00', date: '2026-11-02' } },
      })
    ).status,
  ).toBe(404);
  const preview = await stack.api('POST', '/api/v1/sales-invoices/post-preview', { as, body: { ids: [ids[0]] } });
  expect(preview.status).toBe(422);
  expect((await stack.api('GET', '/api/v1/sales-invoices', { as })).body.items).toEqual([]);
  expect((await stack.api('POST', '/api/v1/sales-invoices/post-preview', { as: 'bob', body: { ids } })).status).toBe(403);
  expect((await stack.api('POST', '/api/v1/customers', { as: 'carol', body: { name: 'X' } })).status).toBe(403);
});

test('customers change with If-Match and stay while invoices name them', async () => {
  const got = await stack.api('GET', `/api/v1/customers/${customer}`, { as: 'alice' });
  const etag = got.headers.get('etag')!;
  const changed = await stack.api('PATCH', `/api/v1/customers/${customer}`, {
    as: 'alice',
    body: { paymentTerms: 'net_14' },
    headers: { 'if-match': etag },
  });
  expect(changed.status).toBe(200);
  const stale = await stack.api('PATCH', `/api/v1/customers/${customer}`, {
    as: 'alice',
    body: { paymentTerms: 'net_60' },
    headers: { 'if-match': etag },
  });
  expect(stale.status).toBe(412);
  expect((await stack.api('DELETE', `/api/v1/customers/${customer}`, { as: 'erin' })).status).toBe(409);
});

test('a run cancelled between chunks stops: what it posted stays posted once, the rest is released and posts later', async () => {
  // An API whose runs post 4 invoices a chunk, on the stack's worker.
  const server: Server = await new Promise((resolve) => {
    const app = createApp({
      database: stack.database,
      temporal: stack.temporal,
      logger: createLogger('sales-cancel-test', 'silent'),
      salesPosting: { chunkSize: 4 },
    });
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.company.tokens.alice}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  try {
    const { customerId, productId } = await salesMasterData(stack.database.db, stack.company.companyId, 'cancel');
    const batch = await bulkSalesInvoices(stack.database.db, {
      companyId: stack.company.companyId,
      customerId,
      productId,
      count: 12,
      prefix: 'CANCEL',
    });
    const preview = await api('POST', '/sales-invoices/post-preview', { ids: batch });
    expect(preview.body.summary).toMatchObject({ selected: 12, postable: 12 });
    chunkGate.armed = true;
    const started = await api('POST', '/sales-invoices/post', {
      previewToken: preview.body.previewToken,
      confirm: true,
      mode: 'postable-only',
    });
    expect(started.status).toBe(202);
    const postingId = started.body.postingId as string;

    // The first chunk has posted and is held; the run is cancelled meanwhile, then the chunk answers.
    await chunkGate.held.promise;
    const cancelling = await api('POST', `/sales-postings/${postingId}/cancel`);
    expect(cancelling.status).toBe(200);
    expect(cancelling.body.state).toBe('running');
    chunkGate.release.resolve();

    const done = await waitFor(
      () => api('GET', `/sales-postings/${postingId}`),
      (r) => r.body.state !== 'running',
    );
    expect(done.body).toMatchObject({ state: 'cancelled', total: 12, posted: 4, customerItems: 4 });
    expect(done.body.refused).toHaveLength(8);
    expect((done.body.refused as { reasons: string[] }[])[0]!.reasons).toEqual([
      'Not posted: the posting was cancelled before its turn came',
    ]);
    expect((await api('POST', `/sales-postings/${postingId}/cancel`)).status).toBe(409);

    const rows = await stack.database.db
      .select({ id: salesInvoices.id, state: salesInvoices.state, postingId: salesInvoices.postingId })
      .from(salesInvoices)
      .where(inArray(salesInvoices.id, batch));
    const posted = rows.filter((r) => r.state === 'posted');
    const rest = rows.filter((r) => r.state === 'unposted');
    // The first chunk, in the run's order, and nothing after it.
    expect(posted.map((r) => r.id).sort()).toEqual(batch.slice(0, 4).sort());
    expect(rest.every((r) => r.postingId === null)).toBe(true);
    expect(await journalsOf(batch)).toEqual({ entries: 4, invoices: 4, unbalanced: 0 });

    // The rest is postable again, and posts once; the whole batch ends with one balanced journal each.
    const again = await api('POST', '/sales-invoices/post-preview', { ids: rest.map((r) => r.id) });
    expect(again.body.summary).toMatchObject({ selected: 8, postable: 8, blocked: 0 });
    const second = await api('POST', '/sales-invoices/post', {
      previewToken: again.body.previewToken,
      confirm: true,
      mode: 'all-or-nothing',
    });
    expect(second.status).toBe(202);
    await waitFor(
      () => api('GET', `/sales-postings/${second.body.postingId as string}`),
      (r) => r.body.state === 'completed',
    );
    expect(await journalsOf(batch)).toEqual({ entries: 12, invoices: 12, unbalanced: 0 });
    const unposted = await stack.database.db
      .select({ id: salesInvoices.id })
      .from(salesInvoices)
      .where(and(inArray(salesInvoices.id, batch), eq(salesInvoices.state, 'unposted')));
    expect(unposted).toEqual([]);
  } finally {
    chunkGate.release.resolve();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A UBL 2.1 sales invoice (EN 16931, Peppol BIS 3) from `seller` to the buyer with VAT number `buyerVat`. */
function ublSalesInvoice(
  number: string,
  seller: string,
  buyerVat: string,
  lines: { sku: string; name: string; quantity: number; price: string; serials?: string[] }[],
) {
  const cents = lines.map((l) => Math.round(Number(l.price) * 100) * l.quantity);
  const net = cents.reduce((a, b) => a + b, 0);
  const tax = cents.reduce((a, b) => a + Math.round(b / 4), 0);
  const eur = (c: number) => (c / 100).toFixed(2);
  const party = (name: string, vat: string) => `<cac:Party>
      <cac:PostalAddress><cac:Country><cbc:IdentificationCode>SE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
      <cac:PartyTaxScheme><cbc:CompanyID>${vat}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
      <cac:PartyLegalEntity><cbc:RegistrationName>${name}</cbc:RegistrationName></cac:PartyLegalEntity>
    </cac:Party>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
  xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>${number}</cbc:ID>
  <cbc:IssueDate>2026-11-03</cbc:IssueDate>
  <cbc:DueDate>2026-12-03</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cbc:BuyerReference>PO-77</cbc:BuyerReference>
  <cac:AccountingSupplierParty>${party(seller, 'SE999999999901')}</cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>${party('Some buyer name', buyerVat)}</cac:AccountingCustomerParty>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="EUR">${eur(tax)}</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="EUR">${eur(net)}</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">${eur(tax)}</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">${eur(net)}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">${eur(net)}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">${eur(net + tax)}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">${eur(net + tax)}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  ${lines
    .map(
      (l, i) => `<cac:InvoiceLine>
    <cbc:ID>${i + 1}</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">${l.quantity}</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">${eur(cents[i]!)}</cbc:LineExtensionAmount>
    <cac:Item>
      <cbc:Name>${l.name}</cbc:Name>
      <cac:SellersItemIdentification><cbc:ID>${l.sku}</cbc:ID></cac:SellersItemIdentification>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
      ${(l.serials ?? []).map((s) => `<cac:ItemInstance><cbc:SerialID>${s}</cbc:SerialID></cac:ItemInstance>`).join('')}
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">${l.price}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>`,
    )
    .join('\n  ')}
</Invoice>`;
}

test('a UBL sales invoice with the company as seller: the buyer is a customer by VAT number, lines are products by SKU, serial numbers load', async () => {
  const me = await stack.api('GET', '/api/v1/me', { as: 'alice' });
  const company = me.body.company.name as string;
  const send = (xml: string) =>
    stack.api('POST', '/api/v1/sales-invoices', { as: 'alice', rawBody: xml, headers: { 'content-type': 'application/xml' } });
  const res = await send(
    ublSalesInvoice('UBL-S-1', company, 'SE556000000001', [
      { sku: 'P-1', name: 'Paper', quantity: 3, price: '4.99' },
      { sku: 'HW-1', name: 'Router', quantity: 2, price: '310.50', serials: ['RT-A', 'RT-B'] },
    ]),
  );
  expect(res.status).toBe(201);
  const detail = await stack.api('GET', `/api/v1/sales-invoices/${res.body.id}`, { as: 'alice' });
  expect(detail.body).toMatchObject({
    invoiceNumber: 'UBL-S-1',
    customer: { id: customer },
    net: '635.97',
    tax: '158.99',
    gross: '794.96',
    dueDate: '2026-12-03',
    state: 'unposted',
  });
  expect(detail.body.lines.map((l: { product: { id: string } }) => l.product.id)).toEqual([plain, serialised]);
  expect(JSON.stringify(detail.body.lines[1])).toContain('RT-B');
  const preview = await stack.api('POST', '/api/v1/sales-invoices/post-preview', { as: 'alice', body: { ids: [res.body.id] } });
  expect(preview.body.invoices[0].blockers.map((b: { code: string }) => b.code)).toEqual(['customer_item_not_reviewed']);

  const purchase = await send(
    ublSalesInvoice('UBL-S-2', 'Somebody Else AB', 'SE556000000001', [{ sku: 'P-1', name: 'Paper', quantity: 1, price: '4.99' }]),
  );
  expect(purchase.status).toBe(422);
  expect(purchase.body.error.code).toBe('not_the_seller');
  const unknown = await send(ublSalesInvoice('UBL-S-3', company, 'SE000', [{ sku: 'NOPE', name: 'Nothing', quantity: 1, price: '1.00' }]));
  expect(unknown.status).toBe(422);
  expect(unknown.body.error.details).toEqual([
    { path: '/Invoice/cac:AccountingCustomerParty/cac:Party', message: expect.stringContaining('no customer of yours matches the buyer') },
    {
      path: '/Invoice/cac:InvoiceLine[1]/cac:Item/cac:SellersItemIdentification/cbc:ID',
      message: 'no product of yours has the SKU "NOPE"',
    },
  ]);
});
