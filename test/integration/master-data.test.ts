import { and, eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { auditEvents, costCentres } from '../../db/schema';
import { seedCompany, type SeededCompany } from '../../db/seed';
import { invoiceBody, startStack, waitForStage, type Stack } from '../harness';

let stack: Stack;
let other: SeededCompany;
beforeAll(async () => {
  stack = await startStack();
  other = await seedCompany(stack.database.db, `${stack.company.users.alice!.split('.')[0]}o`);
});
afterAll(async () => {
  await stack?.stop();
});

const u = (name: string) => stack.company.users[name]!;
const v1 = (path: string) => `/api/v1${path}`;
let unique = 0;
/** A name no other test of this file uses. */
const named = (what: string) => `${what} ${Date.now()}-${++unique}`;

async function created(path: string, body: unknown): Promise<Record<string, unknown> & { id: string }> {
  const res = await stack.api('POST', v1(path), { as: 'erin', body });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.headers.get('location')).toBe(v1(`${path}/${res.body.id}`));
  return res.body;
}

const twoRows = (a: string, b: string) => ({
  rows: [
    { account: a, percent: '70', dimensions: { costCentre: 'CC-100' } },
    { account: b, percent: '30', dimensions: { costCentre: 'CC-200', project: 'P-7' } },
  ],
  taxAccount: '2640',
  taxCode: 'VAT-IN',
});

async function intake(overrides: Record<string, unknown>): Promise<string> {
  const res = await stack.api('POST', v1('/invoices'), { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const accounts = (detail: Record<string, unknown>) =>
  (detail.codingRows as { kind: string; account: string }[]).filter((r) => r.kind === 'expense').map((r) => r.account);

/** The company's audit events of one kind whose data names `id`. */
async function audited(kind: string, id: string): Promise<number> {
  const rows = await stack.database.db
    .select({ data: auditEvents.data })
    .from(auditEvents)
    .where(and(eq(auditEvents.companyId, stack.company.companyId), eq(auditEvents.kind, kind)));
  return rows.filter((r) => Object.values(r.data).includes(id)).length;
}

describe('master data through the API, used end to end', () => {
  it('an agreement made from a coding template and a vendor found through the lists posts a matching invoice by itself', async () => {
    const templateName = named('Cleaning contract');
    await created('/coding-templates', { name: templateName, ...twoRows('6300', '6310') });
    const vendorName = named('Sparkle Cleaning');
    const vat = `GB${Date.now()}`;
    await created('/vendors', { name: vendorName, vatNumber: vat, endpointId: `0088:${vat}`, email: 'billing@sparkle.example' });

    // A clerk finds both by searching: a template by name, a vendor by name, VAT number or endpoint id.
    const templates = await stack.api('GET', v1(`/coding-templates?q=${encodeURIComponent(templateName.toUpperCase())}`), { as: 'alice' });
    expect(templates.body.items).toEqual([expect.objectContaining({ name: templateName, active: true, isDefault: false })]);
    const byName = await stack.api('GET', v1(`/vendors?q=${encodeURIComponent(vendorName.slice(0, 12).toLowerCase())}`), { as: 'alice' });
    const vendor = (byName.body.items as { name: string; id: string }[]).find((v) => v.name === vendorName)!;
    for (const q of [vat, `0088:${vat}`]) {
      expect((await stack.api('GET', v1(`/vendors?q=${encodeURIComponent(q)}`), { as: 'alice' })).body.items).toEqual([
        expect.objectContaining({ id: vendor.id }),
      ]);
    }
    expect((await stack.api('GET', v1(`/vendors?q=${vat.slice(0, 6)}`), { as: 'alice' })).body.items).toEqual([]);

    const agreement = await created('/agreements', {
      vendorId: vendor.id,
      referencePattern: 'CLEAN-%',
      amountFrom: '1000.00',
      amountTo: '1300.00',
      days: 1,
      codingTemplateId: templates.body.items[0].id,
      approvalUserId: u('dave'),
    });
    expect(agreement).toMatchObject({ active: true, cumulativeTotal: '0', version: 1 });

    const detail = await waitForStage(stack, await intake({ vendor: { id: vendor.id }, buyerReference: 'CLEAN-1' }), 'posted');
    expect(accounts(detail)).toEqual(['6300', '6310']);
    expect(detail.codingRows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ account: '6310', amount: '300.00', dimensions: { costCentre: 'CC-200', project: 'P-7' } }),
      ]),
    );

    // In use: deleting it is refused with the way out; deactivated, it matches nothing new.
    const refused = await stack.api('DELETE', v1(`/agreements/${agreement.id}`), { as: 'erin' });
    expect(refused).toMatchObject({
      status: 409,
      body: { error: { code: 'in_use', message: expect.stringContaining('deactivate it instead') } },
    });
    // The match added to the system-kept cumulative total without a new version: the admin's ETag still holds.
    const off = await stack.api('PATCH', v1(`/agreements/${agreement.id}`), {
      as: 'erin',
      body: { active: false },
      headers: { 'if-match': '"v1"' },
    });
    expect(off).toMatchObject({ status: 200, body: { active: false, cumulativeTotal: '1250.00', version: 2 } });
    expect(off.headers.get('etag')).toBe('"v2"');
    expect(await audited('agreement_deactivated', agreement.id)).toBe(1);
    const inactive = await stack.api('GET', v1(`/agreements?active=false&vendorId=${vendor.id}`), { as: 'alice' });
    expect(inactive.body.items).toEqual([expect.objectContaining({ id: agreement.id, active: false })]);
    expect((await stack.api('GET', v1(`/agreements?active=true&vendorId=${vendor.id}`), { as: 'alice' })).body.items).toEqual([]);

    const manual = await waitForStage(
      stack,
      await intake({ vendor: { id: vendor.id }, buyerReference: 'CLEAN-2', invoiceDate: '2026-11-20' }),
      'new',
    );
    expect((manual.audit as { kind: string }[]).map((a) => a.kind)).not.toContain('agreement_matched');
  });

  it('a coding template in use is not deleted but deactivated; then the vendor gets the default coding and its agreement no longer matches', async () => {
    const template = await created('/coding-templates', { name: named('Marketing split'), ...twoRows('6500', '6510') });
    const vendor = await created('/vendors', { name: named('Ads & Co'), codingTemplateId: template.id });
    const agreement = await created('/agreements', {
      vendorId: vendor.id,
      referencePattern: 'MKT-%',
      amountFrom: '1.00',
      amountTo: '5000.00',
      days: 1,
      codingTemplateId: template.id,
      approvalUserId: u('dave'),
    });
    const before = await waitForStage(stack, await intake({ vendor: { id: vendor.id } }), 'new');
    expect(accounts(before)).toEqual(['6500', '6510']);

    const refused = await stack.api('DELETE', v1(`/coding-templates/${template.id}`), { as: 'erin' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'in_use',
      message: expect.stringMatching(/1 agreement .* and 1 vendor \(Ads & Co .*\); deactivate it instead/),
      details: [
        { kind: 'agreement', id: agreement.id, active: true },
        { kind: 'vendor', id: vendor.id, name: vendor.name },
      ],
    });

    const off = await stack.api('PATCH', v1(`/coding-templates/${template.id}`), { as: 'erin', body: { active: false } });
    expect(off).toMatchObject({ status: 200, body: { id: template.id, active: false } });
    const listed = async (active: string) =>
      ((await stack.api('GET', v1(`/coding-templates?active=${active}`), { as: 'bob' })).body.items as { id: string }[]).map((t) => t.id);
    expect(await listed('false')).toContain(template.id);
    expect(await listed('true')).not.toContain(template.id);

    const after = await waitForStage(stack, await intake({ vendor: { id: vendor.id }, buyerReference: 'MKT-1' }), 'new');
    expect(accounts(after)).toEqual(['6100', '6200']); // the company default, "Office costs"
    expect(after.audit).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'agreement_miss', message: expect.stringContaining('(coding_template)') })]),
    );

    // Nothing may newly name it, nor may the default be deactivated.
    const otherVendor = await created('/vendors', { name: named('Print Shop') });
    const naming = await stack.api('PATCH', v1(`/vendors/${otherVendor.id}`), { as: 'erin', body: { codingTemplateId: template.id } });
    expect(naming).toMatchObject({ status: 422, body: { error: { details: [expect.objectContaining({ path: 'codingTemplateId' })] } } });
    const agreementNaming = await stack.api('POST', v1('/agreements'), {
      as: 'erin',
      body: {
        vendorId: otherVendor.id,
        amountFrom: '1.00',
        amountTo: '2.00',
        days: 1,
        codingTemplateId: template.id,
        approvalUserId: u('dave'),
      },
    });
    expect(agreementNaming.body.error.details).toEqual([
      { path: 'codingTemplateId', message: expect.stringContaining('is inactive and is applied to no new invoice') },
    ]);
    const patchAgreement = (active: boolean) => stack.api('PATCH', v1(`/agreements/${agreement.id}`), { as: 'erin', body: { active } });
    expect((await patchAgreement(false)).status).toBe(200);
    expect(await patchAgreement(true)).toMatchObject({
      status: 422,
      body: { error: { details: [expect.objectContaining({ path: 'active' })] } },
    });
    const defaultOff = await stack.api('PATCH', v1(`/coding-templates/${stack.company.codingTemplateId}`), {
      as: 'erin',
      body: { active: false },
    });
    expect(defaultOff).toMatchObject({ status: 409, body: { error: { code: 'is_default' } } });

    // Reactivated, it may be named again.
    expect((await stack.api('PATCH', v1(`/coding-templates/${template.id}`), { as: 'erin', body: { active: true } })).body.active).toBe(
      true,
    );
    expect(await patchAgreement(true)).toMatchObject({ status: 200, body: { active: true } });
    expect(await audited('coding_template_deactivated', template.id)).toBe(1);
  });

  it('a vendor created with its own flow template routes invoices by it; the template in use is not deleted (409, not 500)', async () => {
    const flow = await created('/flow-templates', {
      name: named('Dave approves alone'),
      steps: [{ kind: 'approval', assignees: { users: [u('dave')] } }],
    });
    const vendor = await created('/vendors', { name: named('Consulting GmbH'), flowTemplateId: flow.id });
    const id = await intake({ vendor: { id: vendor.id } });
    await waitForStage(stack, id, 'new');
    expect((await stack.api('POST', v1(`/invoices/${id}/actions/approve`), { as: 'alice', body: {} })).body).toMatchObject({
      stage: 'approval',
      openTask: { assignees: [u('dave')] },
    });
    expect((await stack.api('POST', v1(`/invoices/${id}/actions/approve`), { as: 'dave', body: {} })).status).toBe(200);
    await waitForStage(stack, id, 'posted');

    const agreement = await created('/agreements', {
      vendorId: vendor.id,
      amountFrom: '1.00',
      amountTo: '2.00',
      days: 1,
      codingTemplateId: stack.company.codingTemplateId,
      flowTemplateId: flow.id,
      stage: 'approval',
    });
    const refused = await stack.api('DELETE', v1(`/flow-templates/${flow.id}`), { as: 'erin' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'in_use',
      details: [
        { kind: 'agreement', id: agreement.id },
        { kind: 'vendor', name: vendor.name },
      ],
    });
    // Once nothing uses it, it goes.
    await stack.api('DELETE', v1(`/agreements/${agreement.id}`), { as: 'erin' });
    await stack.api('PATCH', v1(`/vendors/${vendor.id}`), { as: 'erin', body: { flowTemplateId: null } });
    expect((await stack.api('DELETE', v1(`/flow-templates/${flow.id}`), { as: 'erin' })).status).toBe(204);
  });

  it('a by-dimension approval step is accepted when a cost centre owner has an approval limit', async () => {
    const steps = [{ kind: 'approval', assignees: { byDimension: 'costCentre' } }];
    const refused = await stack.api('POST', v1('/flow-templates'), { as: 'erin', body: { name: named('By owner'), steps } });
    expect(refused).toMatchObject({ status: 422, body: { error: { details: [expect.objectContaining({ path: 'steps.0.assignees' })] } } });
    await stack.database.db
      .insert(costCentres)
      .values({ companyId: stack.company.companyId, code: 'CC-100', name: 'Office', ownerId: u('carol') });
    expect((await stack.api('POST', v1('/flow-templates'), { as: 'erin', body: { name: named('By owner'), steps } })).status).toBe(201);
  });
});

describe('vendors', () => {
  it('another vendor with the same VAT number or endpoint id is a 409 naming the existing one', async () => {
    const vat = `DE${Date.now()}`;
    const first = await created('/vendors', { name: named('Original'), vatNumber: vat, endpointId: `9930:${vat}` });
    const again = await stack.api('POST', v1('/vendors'), { as: 'erin', body: { name: named('Copy'), vatNumber: vat } });
    expect(again).toMatchObject({
      status: 409,
      body: { error: { code: 'duplicate_vendor', details: [{ existingId: first.id, path: 'vatNumber' }] } },
    });
    const second = await created('/vendors', { name: named('Second') });
    const patched = await stack.api('PATCH', v1(`/vendors/${second.id}`), { as: 'erin', body: { endpointId: `9930:${vat}` } });
    expect(patched).toMatchObject({ status: 409, body: { error: { details: [{ existingId: first.id, path: 'endpointId' }] } } });
    const renamed = await stack.api('PATCH', v1(`/vendors/${second.id}`), {
      as: 'erin',
      body: { name: 'Second, renamed', email: 'ap@second.example' },
    });
    expect(renamed).toMatchObject({ status: 200, body: { name: 'Second, renamed', email: 'ap@second.example' } });
    // The other company may have the same VAT number.
    expect(
      (await stack.api('POST', v1('/vendors'), { as: `raw:${other.tokens.erin}`, body: { name: 'Theirs', vatNumber: vat } })).status,
    ).toBe(201);
  });
});

describe('settings', () => {
  it('are read with GET and changed with PATCH; other verbs answer 405 with Allow', async () => {
    expect((await stack.api('GET', v1('/settings'), { as: 'alice' })).body).toMatchObject({
      payableAccount: '2400',
      receivableAccount: '1500',
    });
    const changed = await stack.api('PATCH', v1('/settings'), { as: 'erin', body: { receivableAccount: '1510' } });
    expect(changed).toMatchObject({ status: 200, body: { receivableAccount: '1510', useWorkqueueSend: true } });
    for (const method of ['PUT', 'POST', 'DELETE']) {
      const res = await stack.api(method, v1('/settings'), { as: 'erin', body: { receivableAccount: '1' } });
      expect(res).toMatchObject({
        status: 405,
        body: { error: { code: 'method_not_allowed', message: expect.stringContaining('PATCH') } },
      });
      expect(res.headers.get('allow')).toBe('GET, PATCH');
    }
    // Another company's admin changes their own settings, never these.
    await stack.api('PATCH', v1('/settings'), { as: `raw:${other.tokens.erin}`, body: { receivableAccount: '1999' } });
    expect((await stack.api('GET', v1('/settings'), { as: 'alice' })).body.receivableAccount).toBe('1510');
  });
});

describe('every master-data route', () => {
  it("answers 404 for another company's object, 403 for a non-admin write, 412 for a stale If-Match and 422 with details for a malformed body", async () => {
    const template = await created('/coding-templates', { name: named('Route check'), ...twoRows('6000', '6010') });
    const vendor = await created('/vendors', { name: named('Route check vendor') });
    const flow = await created('/flow-templates', {
      name: named('Route check flow'),
      steps: [{ kind: 'approval', assignees: { roles: ['approver'] } }],
    });
    const agreement = await created('/agreements', {
      vendorId: vendor.id,
      amountFrom: '1.00',
      amountTo: '2.00',
      days: 1,
      codingTemplateId: template.id,
      approvalUserId: u('dave'),
    });
    const outsider = `raw:${other.tokens.erin}`;
    const malformed = { name: 42, active: 'maybe', bogus: true };

    const objects: [string, string][] = [
      ['coding-templates', template.id],
      ['vendors', vendor.id],
      ['flow-templates', flow.id],
      ['agreements', agreement.id],
    ];
    const routes: { method: string; path: string; body?: boolean }[] = [
      ...objects.flatMap(([kind, id]) => [{ method: 'GET', path: `/${kind}/${id}` }]),
      { method: 'PUT', path: `/coding-templates/${template.id}`, body: true },
      { method: 'PATCH', path: `/coding-templates/${template.id}`, body: true },
      { method: 'DELETE', path: `/coding-templates/${template.id}` },
      { method: 'PATCH', path: `/vendors/${vendor.id}`, body: true },
      { method: 'PUT', path: `/flow-templates/${flow.id}`, body: true },
      { method: 'DELETE', path: `/flow-templates/${flow.id}` },
      { method: 'PUT', path: `/agreements/${agreement.id}`, body: true },
      { method: 'PATCH', path: `/agreements/${agreement.id}`, body: true },
      { method: 'DELETE', path: `/agreements/${agreement.id}` },
      { method: 'POST', path: `/agreements/${agreement.id}/reset-cumulative` },
    ];
    const problems: string[] = [];
    const expectStatus = async (
      label: string,
      status: number,
      method: string,
      path: string,
      as: string,
      body?: unknown,
      ifMatch?: string,
    ) => {
      const res = await stack.api(method, v1(path), {
        as,
        ...(body !== undefined ? { body } : {}),
        ...(ifMatch ? { headers: { 'if-match': ifMatch } } : {}),
      });
      const detailed = status !== 422 || (Array.isArray(res.body?.error?.details) && res.body.error.details.length > 0);
      if (res.status !== status || !detailed)
        problems.push(`${label}: ${method} ${path} answered ${res.status} ${JSON.stringify(res.body)}`);
    };
    for (const { method, path, body } of routes) {
      await expectStatus('other company', 404, method, path, outsider, body ? {} : undefined);
      if (method !== 'GET') await expectStatus('non-admin', 403, method, path, 'bob', body ? {} : undefined);
      if (body) await expectStatus('malformed', 422, method, path, 'erin', malformed);
      if (['PUT', 'PATCH', 'DELETE'].includes(method))
        await expectStatus('stale', 412, method, path, 'erin', body ? {} : undefined, '"v99"');
    }
    for (const path of ['/coding-templates', '/vendors', '/flow-templates', '/agreements']) {
      await expectStatus('non-admin', 403, 'POST', path, 'carol', {});
      await expectStatus('malformed', 422, 'POST', path, 'erin', malformed);
      await expectStatus('bad query', 422, 'GET', `${path}?limit=0`, 'alice');
      const theirs = await stack.api('GET', v1(`${path}?limit=200`), { as: outsider });
      const ours = objects.map(([, id]) => id);
      if ((theirs.body.items as { id: string }[]).some((i) => ours.includes(i.id))) problems.push(`other company: GET ${path} lists ours`);
    }
    await expectStatus('non-admin', 403, 'PATCH', '/settings', 'dave', { receivableAccount: '1' });
    await expectStatus('malformed', 422, 'PATCH', '/settings', 'erin', { useWorkqueueSend: 'yes' });
    await expectStatus('stale', 412, 'PATCH', '/settings', 'erin', { receivableAccount: '1' }, '"v99"');
    await expectStatus('unknown id', 404, 'GET', `/coding-templates/${randomUUID()}`, 'alice');
    expect(problems).toEqual([]);
  });

  it('a coding template whose percentages do not add up to exactly 100 is a 422 naming the rows and the total', async () => {
    const res = await stack.api('POST', v1('/coding-templates'), {
      as: 'erin',
      body: {
        name: named('Almost'),
        rows: [
          { account: '6100', percent: '33.333333' },
          { account: '6200', percent: '33.333333' },
          { account: '6300', percent: '33.333333' },
        ],
        taxAccount: '2640',
      },
    });
    expect(res).toMatchObject({ status: 422, body: { error: { code: 'validation_failed' } } });
    expect(res.body.error.details).toEqual([
      { path: 'rows', message: 'row percentages add up to 99.999999%, not 100% (row 1 33.333333%, row 2 33.333333%, row 3 33.333333%)' },
    ]);
    const malformed = await stack.api('POST', v1('/coding-templates'), {
      as: 'erin',
      body: {
        name: named('Bad'),
        rows: [
          { account: '6100', percent: '100.0000001' },
          { account: '6200', percent: '0' },
        ],
        taxAccount: '2640',
      },
    });
    expect(malformed.body.error.details.map((d: { path: string }) => d.path)).toEqual(['rows.0.percent', 'rows.1.percent']);
    const exact = await stack.api('POST', v1('/coding-templates'), {
      as: 'erin',
      body: {
        name: named('Thirds'),
        rows: [
          { account: '6100', percent: '33.333333' },
          { account: '6200', percent: '33.333333' },
          { account: '6300', percent: '33.333334' },
        ],
        taxAccount: '2640',
      },
    });
    expect(exact.status).toBe(201);
    const taken = await stack.api('POST', v1('/coding-templates'), {
      as: 'erin',
      body: { ...exact.body, id: undefined, active: undefined, version: undefined },
    });
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'name_taken' } } });
  });

  it('lists page with a cursor: every item once, in the order of one large page', async () => {
    for (const tag of ['A', 'B']) {
      await created('/coding-templates', { name: named(`Paging ${tag}`), ...twoRows('6000', '6010') });
      await created('/flow-templates', { name: named(`Paging ${tag}`), steps: [{ kind: 'approval', assignees: { roles: ['approver'] } }] });
      await created('/vendors', { name: named(`Paging ${tag}`) });
      await created('/agreements', {
        vendorId: stack.company.vendorId,
        referencePattern: 'NEVER-%',
        amountFrom: '1.00',
        amountTo: '2.00',
        days: 1,
        codingTemplateId: stack.company.codingTemplateId,
        approvalUserId: u('dave'),
      });
    }
    for (const path of ['/coding-templates', '/flow-templates', '/vendors', '/agreements']) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await stack.api('GET', v1(`${path}?limit=1${cursor ? `&cursor=${cursor}` : ''}`), { as: 'bob' });
        expect(res.status).toBe(200);
        ids.push(...(res.body.items as { id: string }[]).map((i) => i.id));
        cursor = res.body.nextCursor as string | null;
      } while (cursor && ids.length < 500);
      const all = (await stack.api('GET', v1(`${path}?limit=200`), { as: 'bob' })).body;
      expect(all.nextCursor).toBeNull();
      expect(ids.length).toBeGreaterThanOrEqual(2);
      expect(ids).toEqual((all.items as { id: string }[]).map((i) => i.id));
      expect((await stack.api('GET', v1(`${path}?cursor=nonsense`), { as: 'bob' })).status).toBe(400);
    }
  });
});
