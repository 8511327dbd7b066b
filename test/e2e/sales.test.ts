/**
 * The Sales page in a real browser (SPEC 2.5, seed 002) against the real stack: alice selects three
 * unposted sales invoices, one of them missing a serial number; the preview shows that blocker on
 * its row in the server's words and counts the customer items to create; she posts the postable
 * ones only and follows the run until it is done, with the refused one and its reason; then fixes
 * it on the page (its missing serial number) and the preview says it is ready.
 */
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from '../harness';
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

jest.setTimeout(120_000);

let stack: Stack;
let browser: Browser;
const opened: Session[] = [];

async function created(path: string, body: unknown): Promise<string> {
  const res = await stack.api('POST', `/api/v1${path}`, { as: 'alice', body });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

const expectText = async (page: Page, selector: string, text: string) =>
  page.locator(selector, { hasText: text }).first().waitFor({ timeout: 10_000 });

describeInBrowser('the Sales page', () => {
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });
  afterEach(() => closeSessions(opened.splice(0)));

  it('alice previews three invoices, one blocked by a missing serial number, posts the postable ones, sees the run finish, then fixes the blocked one', async () => {
    const customer = await created('/customers', { name: 'Harbour Books', paymentTerms: 'net_30' });
    const paper = await created('/products', { sku: 'PAPER', name: 'Paper', unitPrice: '4.99', taxRate: '25' });
    const support = await created('/products', {
      sku: 'SUPPORT',
      name: 'Support subscription',
      unitPrice: '120.00',
      taxRate: '25',
      createsCustomerItem: true,
    });
    const router = await created('/products', {
      sku: 'ROUTER',
      name: 'Router',
      unitPrice: '310.50',
      taxRate: '25',
      requiresSerialNumbers: true,
    });
    const invoice = (number: string, lines: unknown[]) => ({
      customer: { id: customer },
      invoiceNumber: number,
      invoiceDate: '2026-11-02',
      currency: 'EUR',
      lines,
    });
    await created('/sales-invoices', invoice('S-101', [{ productId: paper, quantity: '10' }]));
    await created(
      '/sales-invoices',
      invoice('S-102', [{ productId: support, quantity: '1', customerItem: { reviewed: true, description: 'Support 2027' } }]),
    );
    await created('/sales-invoices', invoice('S-103', [{ productId: router, quantity: '2', serialNumbers: ['RT-1'] }]));

    const session = await newContext(browser, stack.baseUrl);
    opened.push(session);
    const { page } = session;
    await signIn(page, stack.company.tokens.alice!);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sales' }).click();
    await page.getByRole('heading', { name: 'Sales', level: 1 }).waitFor();
    for (const n of ['S-101', 'S-102', 'S-103']) await page.getByRole('checkbox', { name: `Select sales invoice ${n}` }).check();
    await page.getByRole('button', { name: 'Preview posting' }).click();

    await page.getByRole('heading', { name: 'Confirm posting' }).waitFor();
    await expectText(page, '.sales-confirm', '3 selected: 2 can be posted, 1 blocked');
    await expectText(page, '.sales-confirm', 'Posting creates 1 customer item.');
    const blocked = page.locator('tr', { hasText: 'S-103' });
    await blocked.getByText('Serial number missing:').waitFor();
    await blocked.getByText('Line 1 (Router) needs 2 serial numbers; 1 is missing: load them on the invoice line').waitFor();
    await page.locator('tr', { hasText: 'S-102' }).getByText('Ready to post; creates 1 customer item').waitFor();
    await screenshot(page, 'sales-preview-with-a-blocked-invoice');
    expect(await seriousAxeViolations(page)).toEqual([]);

    // All or nothing cannot post a selection with a blocked invoice; postable-only can.
    await page.getByLabel('All or nothing').check();
    expect(await page.getByRole('button', { name: /^Confirm: post/ }).isDisabled()).toBe(true);
    await page.getByLabel(/postable ones only/).check();
    await page.getByRole('button', { name: 'Confirm: post 2 invoices' }).click();

    await page.getByRole('heading', { name: 'Posting done' }).waitFor();
    await expectText(page, '.sales-run', '2 of 2 invoices processed: 2 posted, 1 customer item created');
    await expectText(page, '.sales-run .result-refused', 'S-103: Line 1 (Router) needs 2 serial numbers; 1 is missing');
    // The list shows what is left unposted: the blocked one only.
    await expectText(page, '#sales-count', '1 unposted invoice shown');
    await screenshot(page, 'sales-posting-done');
    expect(await seriousAxeViolations(page)).toEqual([]);

    // The refused one is fixed from the page: its second serial number loaded, the preview again says ready.
    await page.getByRole('checkbox', { name: 'Select sales invoice S-103' }).check();
    await page.getByRole('button', { name: 'Preview posting' }).click();
    await page.getByRole('button', { name: 'Fix S-103…' }).click();
    await page.getByLabel('Serial numbers (one per unit, one a line)').fill('RT-1\nRT-2');
    await page.getByRole('button', { name: 'Save serial numbers of line 1' }).click();
    await page.getByText('Nothing keeps this invoice from posting now.').waitFor();
    await screenshot(page, 'sales-fix-serial-numbers');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.locator('tr', { hasText: 'S-103' }).getByText('Ready to post').waitFor();
  });
});
