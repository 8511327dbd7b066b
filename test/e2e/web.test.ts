/**
 * The web page in a real browser (Debian's Chromium through playwright-core) against the real
 * stack: the API of startStack serves the built page at `/`, the worker runs the workflows on the
 * Temporal dev server, Postgres holds the rest. Scenes are set through the API; people act through
 * the page. Each test saves a screenshot under test-results/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { invoiceBody, startStack, vendorWithFlow, waitForStage, type Stack } from '../harness';
import { fixture } from '../ubl-fixtures';
import {
  closeSessions,
  describeInBrowser,
  launchBrowser,
  newContext,
  screenshot,
  seriousAxeViolations,
  signIn,
  type Session,
} from './browser';

jest.setTimeout(180_000);

let stack: Stack;
let browser: Browser;
const opened: Session[] = [];

const u = (name: string) => stack.company.users[name]!;

/** A new invoice through the API as alice, waiting in `new` with its clerk task; its id. */
async function intake(overrides: Record<string, unknown> = {}): Promise<{ id: string; number: string }> {
  const body = invoiceBody(stack, overrides);
  const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body });
  expect(res.status).toBe(201);
  await waitForStage(stack, res.body.id, 'new');
  return { id: res.body.id as string, number: body.invoiceNumber as string };
}

async function act(as: string, id: string, action = 'approve', body: unknown = {}): Promise<void> {
  const res = await stack.api('POST', `/api/v1/invoices/${id}/actions/${action}`, { as, body });
  expect(res).toMatchObject({ status: 200 });
}

/** A signed-in page for a user of the stack's company. */
async function pageAs(name: string, size?: { width: number; height: number }): Promise<Page> {
  const session = await newContext(browser, stack.baseUrl, size);
  opened.push(session);
  await signIn(session.page, stack.company.tokens[name]!);
  return session.page;
}

const resultLine = (page: Page, number: string) => page.locator('.result-box li', { hasText: number });

describeInBrowser('the web page', () => {
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });
  afterEach(() => closeSessions(opened.splice(0)));

  it('alice registers two invoices from her queue in one batch', async () => {
    const first = await intake();
    const second = await intake();
    const page = await pageAs('alice');
    await page.getByRole('link', { name: first.number }).waitFor();
    await page.getByRole('checkbox', { name: `Select invoice ${first.number}` }).check();
    await page.getByRole('checkbox', { name: `Select invoice ${second.number}` }).check();
    await page.getByRole('button', { name: 'Approve', exact: true }).click();

    await page.getByRole('heading', { name: 'Result: Approve' }).waitFor();
    await expectText(resultLine(page, first.number), 'moved on to Review');
    await expectText(resultLine(page, second.number), 'moved on to Review');
    // Both left alice's queue; the result links open them.
    await page.getByText(`No open tasks in this queue.`).waitFor();
    expect(await resultLine(page, first.number).getByRole('link').getAttribute('href')).toBe(`/invoices/${first.id}`);
    await screenshot(page, 'alice-registers-two-invoices');
  });

  it('bob reviews an invoice from its detail page and sees the server say what happened', async () => {
    const invoice = await intake();
    await act('alice', invoice.id);
    const page = await pageAs('bob');
    await page.getByRole('link', { name: invoice.number }).click();
    await page.getByRole('heading', { name: `Invoice ${invoice.number}` }).waitFor();
    // The coding rows carry no review signature yet; the automatic review marked them correct.
    await expectText(page.locator('table.coding tbody tr').first(), 'correct');

    await page.getByRole('button', { name: 'Review (sign and send on)' }).click();
    await expectText(page.getByRole('status').filter({ hasText: 'Done:' }), 'Done:');
    await expectText(page.getByRole('heading', { level: 1 }), 'Approval');
    await expectText(page.locator('table.coding tbody tr').first(), u('bob'));
    await expectText(page.locator('.timeline'), 'Review done');
    await screenshot(page, 'bob-reviews-from-the-detail-page');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('carol approves three invoices in mixed stages in one batch: one moves to payment, one waits, one is refused with the reason', async () => {
    // Above 5,000.00 every row needs two approvers.
    const settings = await stack.api('GET', '/api/v1/settings', { as: 'erin' });
    const patched = await stack.api('PATCH', '/api/v1/settings', {
      as: 'erin',
      body: { twoApproverThreshold: '5000.00' },
      headers: { 'if-match': settings.headers.get('etag')! },
    });
    expect(patched.status).toBe(200);
    const carolAlone = await vendorWithFlow(stack, 'Carol approves alone', [
      { kind: 'review', assignees: { users: [u('bob')] } },
      { kind: 'approval', assignees: { users: [u('carol')] } },
    ]);
    const sharedReview = await vendorWithFlow(stack, 'Bob or carol reviews', [
      { kind: 'review', assignees: { users: [u('bob'), u('carol')] } },
      { kind: 'approval', assignees: { users: [u('dave')] } },
    ]);
    const toPayment = await intake({ vendor: { id: carolAlone } });
    const waiting = await intake({ net: '5000.00', tax: '1250.00', gross: '6250.00', lines: [] });
    const notHers = await intake({ vendor: { id: sharedReview } });
    for (const id of [toPayment.id, waiting.id]) {
      await act('alice', id);
      await act('bob', id);
    }
    await act('alice', notHers.id);
    await waitForStage(stack, notHers.id, 'review');

    const page = await pageAs('carol');
    await page.getByRole('link', { name: notHers.number }).waitFor();
    const notMine = page.getByRole('button', { name: 'Not mine' });
    // Not mine: only for an invoice shared with others.
    await page.getByRole('checkbox', { name: `Select invoice ${toPayment.number}` }).check();
    expect(await notMine.isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: `Select invoice ${waiting.number}` }).check();
    expect(await notMine.isEnabled()).toBe(true);
    await page.getByRole('checkbox', { name: `Select invoice ${notHers.number}` }).check();
    await expectText(page.locator('table.queue tbody'), 'Review');

    // Meanwhile bob reviews the shared one: it is no longer carol's to act on.
    await act('bob', notHers.id);
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await page.getByRole('heading', { name: 'Result: Approve' }).waitFor();
    await expectText(resultLine(page, toPayment.number), 'moved on to Payment');
    await expectText(resultLine(page, waiting.number), 'still in Approval');
    await expectText(resultLine(page, notHers.number), 'not sent: Someone else already moved this invoice on');
    expect(await page.locator('.result-box .result-refused').count()).toBe(1);
    await screenshot(page, 'carol-batch-result');
    expect(await seriousAxeViolations(page)).toEqual([]);

    await stack.api('PATCH', '/api/v1/settings', { as: 'erin', body: { twoApproverThreshold: null } });
  });

  it('an admin creates an agreement through the form, seeing the API’s field errors first, and a matching invoice posts by itself', async () => {
    const page = await pageAs('erin');
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('link', { name: 'New agreement' }).click();
    await page.getByRole('heading', { name: 'New agreement' }).waitFor();

    // The API validates; its details appear next to the fields they name.
    await page.getByRole('button', { name: 'Create agreement' }).click();
    await page.getByRole('alert').filter({ hasText: 'The agreement is not valid' }).waitFor();
    expect(await page.getByLabel('Vendor').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Coding template').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'admin-agreement-form-errors');
    expect(await seriousAxeViolations(page)).toEqual([]);

    const vendorName = (await stack.api('GET', `/api/v1/vendors/${stack.company.vendorId}`, { as: 'erin' })).body.name as string;
    await page.getByLabel('Vendor').selectOption({ label: vendorName });
    await page.getByLabel('Reference pattern (optional)').fill('CONTRACT-%');
    await page.getByLabel('Amount from (gross)').fill('500.00');
    await page.getByLabel('Amount to (gross)').fill('100.00');
    await page.getByLabel('Days between invoices').fill('25');
    await page.getByLabel('Coding template').selectOption(stack.company.codingTemplateId);
    await page.getByLabel('Approval signature by').selectOption(u('dave'));
    await page.getByRole('button', { name: 'Create agreement' }).click();
    const amountTo = page.locator('.field', { has: page.getByLabel('Amount to (gross)') });
    await expectText(amountTo.locator('.field-error'), 'must not be below amountFrom');
    expect(await page.getByLabel('Vendor').getAttribute('aria-invalid')).toBeNull();

    await page.getByLabel('Amount from (gross)').fill('100.00');
    await page.getByLabel('Amount to (gross)').fill('500.00');
    await page.getByRole('button', { name: 'Create agreement' }).click();
    await page.getByText('Agreement created.').waitFor();
    await expectText(page.locator('table'), 'CONTRACT-%');

    const matching = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      body: invoiceBody(stack, {
        buyerReference: 'CONTRACT-2026-11',
        net: '200.00',
        tax: '50.00',
        gross: '250.00',
        lines: [{ description: 'Cleaning, November', quantity: '1', unitPrice: '200.00', net: '200.00', taxRate: '25' }],
      }),
    });
    expect(matching.status).toBe(201);
    await waitForStage(stack, matching.body.id, 'posted');
    await page.goto(`/invoices/${matching.body.id}`);
    await expectText(page.getByRole('heading', { level: 1 }), 'Posted');
    await page.getByRole('heading', { name: 'Journal entry' }).waitFor();
    await expectText(page.locator('table.coding tbody tr').first(), u('dave'));
    await page.goto('/admin/agreements');
    await expectText(page.locator('table'), '250');
    await screenshot(page, 'admin-agreement-matched-invoice-posted');
  });

  it('an admin orders start rules through their form, seeing the API’s field errors first', async () => {
    const page = await pageAs('erin');
    await page.goto('/admin/start-rules');
    await page.getByRole('link', { name: 'New start rule' }).click();
    await page.getByLabel('Name').fill('Order PO-NONE is refused');
    await page.getByLabel('Test').selectOption('equals');
    await page.getByRole('button', { name: 'Create start rule' }).click();
    // The API checks the rule; its words appear at the fields: equals needs a value, assign needs someone.
    await page.getByRole('alert').filter({ hasText: 'The start rule is not valid' }).waitFor();
    expect(await page.getByLabel('Value').getAttribute('aria-invalid')).toBe('true');
    await expectText(page.locator('.field-error').first(), 'needs a value');
    expect(await seriousAxeViolations(page)).toEqual([]);

    await page.getByLabel('Field').selectOption('orderReference');
    await page.getByLabel('Value').fill('PO-NONE');
    await page.getByLabel('Outcome').selectOption('reject');
    await page.getByLabel('Reason').fill('Order PO-NONE was cancelled');
    await page.getByRole('button', { name: 'Create start rule' }).click();
    await page.getByText('Start rule created.').waitFor();
    const row = page.locator('tr', { hasText: 'Order PO-NONE is refused' });
    await expectText(row, 'reject: Order PO-NONE was cancelled');
    await page.getByRole('button', { name: 'Deactivate start rule Order PO-NONE is refused' }).click();
    await page.getByRole('status').filter({ hasText: 'Rule "Order PO-NONE is refused" deactivated.' }).waitFor();
    await expectText(row, 'no');
    await screenshot(page, 'admin-start-rules');
  });

  it('sends an invoice to exceptions review with a message, which a clerk reads and resolves', async () => {
    const invoice = await intake();
    await act('alice', invoice.id);
    const bob = await pageAs('bob');
    await bob.getByRole('checkbox', { name: `Select invoice ${invoice.number}` }).check();
    await bob.getByRole('button', { name: 'Exceptions review…' }).click();
    const dialog = bob.getByRole('dialog', { name: 'Send to exceptions review' });
    await dialog.getByLabel('Message').fill('The unit price differs from order 4711');
    await screenshot(bob, 'exceptions-review-form');
    await dialog.getByRole('button', { name: 'Send to exceptions review' }).click();
    await expectText(resultLine(bob, invoice.number), 'moved on to Exceptions review');
    await screenshot(bob, 'exceptions-review-result');

    const alice = await pageAs('alice');
    await alice.getByRole('link', { name: invoice.number }).click();
    await expectText(alice.getByRole('heading', { level: 1 }), 'Exceptions review');
    await expectText(alice.locator('.timeline'), 'The unit price differs from order 4711');
    await alice.getByRole('form', { name: 'Resolve exception' }).getByLabel('Comment (optional)').fill('Supplier confirmed the price');
    await alice.getByRole('button', { name: 'Resolve exception' }).click();
    await expectText(alice.getByRole('heading', { level: 1 }), 'Review');
    await screenshot(alice, 'exceptions-review-resolved');
  });

  it('leaves a shared invoice with not mine, which is enabled only while a shared invoice is selected', async () => {
    const alone = await vendorWithFlow(stack, 'Dave reviews alone', [
      { kind: 'review', assignees: { users: [u('dave')] } },
      { kind: 'approval', assignees: { users: [u('carol'), u('dave')] } },
    ]);
    const own = await intake({ vendor: { id: alone } });
    const shared = await intake();
    await act('alice', own.id);
    await act('alice', shared.id);
    await act('bob', shared.id);
    await waitForStage(stack, shared.id, 'approval');

    const page = await pageAs('dave', { width: 1024, height: 768 });
    const notMine = page.getByRole('button', { name: 'Not mine' });
    await page.getByRole('checkbox', { name: `Select invoice ${own.number}` }).check();
    expect(await notMine.isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: `Select invoice ${shared.number}` }).check();
    expect(await notMine.isEnabled()).toBe(true);
    await page.getByRole('checkbox', { name: `Select invoice ${own.number}` }).uncheck();
    await notMine.click();
    await page.getByRole('heading', { name: 'Result: Not mine' }).waitFor();
    await expectText(resultLine(page, shared.number), 'left to the others, out of your queue (stays in Approval)');
    expect(await page.getByRole('link', { name: shared.number, exact: true }).count()).toBe(1); // only the result's link
    await screenshot(page, 'not-mine-tablet');
    const detail = await stack.api('GET', `/api/v1/invoices/${shared.id}`, { as: 'erin' });
    expect(detail.body.tasks.find((t: { state: string }) => t.state === 'open').assignees).toEqual([u('carol')]);
  });

  it('shows the batch controls as the company settings say, changed by an admin on the settings page', async () => {
    await intake();
    const alice = await pageAs('alice');
    const selectAll = alice.getByRole('checkbox', { name: 'Select all invoices in the queue' });
    expect(await selectAll.count()).toBe(0);

    const erin = await pageAs('erin');
    await erin.goto('/admin/settings');
    await erin.getByLabel('Select all invoices of a queue at once (the header checkbox)').check();
    await erin.getByRole('button', { name: 'Save settings' }).click();
    await erin.getByText('Settings saved.').waitFor();
    await screenshot(erin, 'admin-settings-saved');
    try {
      await alice.reload();
      await selectAll.check();
      const rows = alice.getByRole('checkbox', { name: /^Select invoice / });
      expect(await rows.count()).toBeGreaterThan(0);
      for (const box of await rows.all()) expect(await box.isChecked()).toBe(true);
      await expectText(alice.locator('.batch-bar'), 'All invoices in the queue are selected.');

      // Without useWorkqueueSend there are no checkboxes and no batch buttons at all.
      await erin.getByLabel('Batch actions in the work queue (Approve, Exceptions review, Not mine)').uncheck();
      await erin.getByRole('button', { name: 'Save settings' }).click();
      await erin.getByText('Settings saved.').waitFor();
      await alice.reload();
      await alice.getByRole('table').waitFor();
      expect(await alice.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
      expect(await alice.getByRole('checkbox').count()).toBe(0);
    } finally {
      await stack.api('PATCH', '/api/v1/settings', { as: 'erin', body: { useWorkqueueSend: true, allowBatchApproveAll: false } });
    }
  });

  it('offers the original document for download and shows an embedded PDF attachment inline', async () => {
    const xml = fixture('Invoice-Min_content_with_VAT.xml')
      .toString('utf8')
      .replace('<cbc:ID>2018-112</cbc:ID>', `<cbc:ID>PDF-${Date.now()}</cbc:ID>`)
      .replace(
        '<cac:AccountingSupplierParty>',
        `<cac:AdditionalDocumentReference><cbc:ID>TS-1</cbc:ID><cbc:DocumentDescription>Timesheet</cbc:DocumentDescription><cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="timesheet.pdf">${TINY_PDF}</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference><cac:AccountingSupplierParty>`,
      );
    const created = await stack.api('POST', '/api/v1/invoices', {
      as: 'alice',
      rawBody: xml,
      headers: { 'content-type': 'application/xml' },
    });
    expect(created.status).toBe(201);
    await waitForStage(stack, created.body.id, 'new');

    const page = await pageAs('alice');
    await page.goto(`/invoices/${created.body.id}`);
    const frame = page.getByTitle('Attachment timesheet.pdf');
    await frame.waitFor();
    expect(await frame.getAttribute('src')).toMatch(/^blob:/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the original document' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^PDF-\d+\.xml$/);
    await screenshot(page, 'invoice-document-and-pdf-attachment');
  });

  it('keeps the token for the browser tab only, and signs out', async () => {
    const page = await pageAs('carol');
    await page.reload();
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to invoiceflow' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.getByLabel('Bearer token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expectText(page.getByRole('alert'), 'The bearer token is not valid');
    await screenshot(page, 'signed-out-bad-token');

    // A tab that kept a token the server no longer takes: the queue's early first page (asked with
    // that token) is never shown to the next person who signs in.
    const forBob = await intake();
    await act('alice', forBob.id);
    await page.evaluate("sessionStorage.setItem('invoiceflow.token', 'revoked-token')");
    await page.goto('/queue');
    await page.getByText('The saved token is no longer valid. Sign in again.').waitFor();
    await page.getByLabel('Bearer token').fill(stack.company.tokens.bob!);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
    await page.getByRole('link', { name: forBob.number }).waitFor();
  });
});

/** A one-page PDF ("Timesheet"), base64, as a supplier would embed it in a UBL invoice. */
const TINY_PDF = Buffer.from(
  [
    '%PDF-1.4',
    '1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj',
    '2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj',
    '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj',
    '4 0 obj<</Length 44>>stream',
    'BT /F1 24 Tf 20 70 Td (Timesheet) Tj ET',
    'endstream endobj',
    '5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj',
    'trailer<</Root 1 0 R>>',
    '%%EOF',
  ].join('\n'),
).toString('base64');

/** Waits until the locator's text contains `text` (the page updates after the server answers). */
async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = '';
  while (Date.now() < deadline) {
    last =
      (await locator
        .first()
        .textContent({ timeout: 20_000 })
        .catch(() => '')) ?? '';
    if (last.includes(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected "${text}" in ${locator.toString()}, found "${last}"`);
}
