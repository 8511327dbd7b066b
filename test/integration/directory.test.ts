import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { auditEvents, taskUsers } from '../../db/schema';
import { seedCompany, type SeededCompany } from '../../db/seed';
import { invoiceBody, startStack, vendorWithFlow, waitFor, waitForStage, type ApiResponse, type Stack } from '../harness';

let stack: Stack;
/** Another company, in an environment of its own: its objects must be invisible to ours. */
let other: SeededCompany;
beforeAll(async () => {
  stack = await startStack();
  other = await seedCompany(stack.database.db, `${slug()}x`);
});
afterAll(async () => {
  await stack?.stop();
});

function slug(): string {
  return stack.company.users.alice!.split('.')[0]!;
}
const u = (name: string) => stack.company.users[name]!;
const outsider = (name: string) => `raw:${other.tokens[name]}`;

const call = (method: string, path: string, as: string, body?: unknown): Promise<ApiResponse> =>
  stack.api(method, `/api/v1${path}`, { as, ...(body === undefined ? {} : { body }) });

async function intake(overrides: Record<string, unknown> = {}, as = 'alice'): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as, body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  await waitForStage(stack, res.body.id, 'new');
  return res.body.id as string;
}

const act = (as: string, id: string, action: string, body: unknown = {}) => call('POST', `/invoices/${id}/actions/${action}`, as, body);

async function queue(as: string): Promise<string[]> {
  const res = await call('GET', '/work-queue?queue=personal&state=open', as);
  expect(res.status).toBe(200);
  return (res.body.items as { invoiceId: string }[]).map((i) => i.invoiceId);
}

async function openAssignees(id: string): Promise<string[]> {
  const detail = await call('GET', `/invoices/${id}`, 'erin');
  return (detail.body.tasks as { state: string; assignees: string[] }[]).find((t) => t.state === 'open')?.assignees ?? [];
}

/** A user of the stack's company created through the API by the admin erin, with a token issued through the API. */
async function createUser(name: string, fields: Record<string, unknown>): Promise<string> {
  const id = `${slug()}.${name}`;
  const created = await call('POST', '/users', 'erin', { id, name, email: `${name}@${slug()}.example`, ...fields });
  expect(created).toMatchObject({ status: 201, body: { id } });
  expect(created.headers.get('location')).toBe(`/api/v1/users/${id}`);
  const token = await call('POST', `/users/${id}/tokens`, 'erin', { label: 'test' });
  expect(token).toMatchObject({ status: 201, body: { id: expect.any(String), token: expect.stringMatching(/^ifl_[\w-]{43}$/) } });
  stack.company.tokens[name] = token.body.token as string;
  stack.company.users[name] = id;
  return id;
}

const noLimit = [{ currency: '*', amount: null }];

describe('users and tokens', () => {
  it('a user created with a limit acts with a token issued through the API, which never shows again and can be revoked', async () => {
    const gina = await createUser('gina', { roles: ['approver'], approvalLimits: [{ currency: 'EUR', amount: '5000' }] });
    expect((await call('GET', `/users/${gina}`, 'alice')).body).toMatchObject({
      roles: ['approver'],
      active: true,
      confidential: false,
      approvalLimits: [{ currency: 'EUR', amount: '5000.00' }],
    });
    const second = await call('POST', `/users/${gina}/tokens`, 'gina', {});
    expect(second.status).toBe(201);
    const tokens = await call('GET', `/users/${gina}/tokens`, 'gina');
    expect(tokens.body.items).toHaveLength(2);
    expect(JSON.stringify(tokens.body)).not.toContain(second.body.token);
    expect(JSON.stringify(tokens.body)).not.toMatch(/[0-9a-f]{64}/);

    expect((await call('DELETE', `/users/${gina}/tokens/${second.body.id}`, 'gina')).status).toBe(204);
    expect((await call('GET', '/work-queue', `raw:${second.body.token}`)).status).toBe(401);
    expect((await call('GET', '/work-queue', 'gina')).status).toBe(200);
    expect((await call('GET', `/users/${gina}/tokens`, 'erin')).body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: second.body.id, revokedAt: expect.any(String) })]),
    );

    const events = await stack.database.db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.companyId, stack.company.companyId),
          inArray(auditEvents.kind, ['user_created', 'token_issued', 'token_revoked']),
        ),
      );
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['user_created', 'token_issued', 'token_revoked']));
    expect(JSON.stringify(events)).not.toContain(second.body.token);
  });

  it('lists users by page with filters', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResponse = await call('GET', `/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`, 'bob');
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      all.push(...page.body.items.map((x: { id: string }) => x.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(['alice', 'bob', 'carol', 'dave', 'erin'].map(u)));
    expect(all.some((id) => id.startsWith(`${slug()}x.`))).toBe(false);
    const ids = async (query: string) => (await call('GET', `/users?${query}`, 'bob')).body.items.map((x: { id: string }) => x.id);
    expect(await ids('q=ALI')).toEqual([u('alice')]);
    expect(await ids('role=approver')).toEqual(expect.arrayContaining([u('carol'), u('dave')]));
    expect(await ids('role=approver')).not.toContain(u('alice'));
    expect(await ids('active=false')).not.toContain(u('alice'));
    expect((await call('GET', '/users?cursor=nonsense', 'bob')).status).toBe(400);
  });

  it('deactivating a user takes them off their open task: the assignees are resolved again', async () => {
    const mia = await createUser('mia', { roles: ['approver'], approvalLimits: noLimit });
    const vendorId = await vendorWithFlow(stack, 'Mia or Dave', [{ kind: 'approval', assignees: { users: [mia, u('dave')] } }]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    expect(await queue('mia')).toContain(id);

    const deactivated = await call('PATCH', `/users/${mia}`, 'erin', { active: false });
    expect(deactivated).toMatchObject({ status: 200, body: { active: false, refreshedInvoices: 1, refreshFailures: [] } });
    await waitFor(
      () => openAssignees(id),
      (a) => a.length === 1 && a[0] === u('dave'),
    );
    const miaRows = await stack.database.db
      .select()
      .from(taskUsers)
      .where(and(eq(taskUsers.userId, mia), eq(taskUsers.invoiceId, id), eq(taskUsers.state, 'open')));
    expect(miaRows).toEqual([]);
    expect((await call('GET', '/work-queue', 'mia')).status).toBe(401);
    const trail = (await call('GET', `/invoices/${id}`, 'erin')).body.audit as { kind: string; actor: string; message: string }[];
    expect(trail).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'refresh',
          actor: u('erin'),
          message: expect.stringContaining(`user ${mia} changed (deactivated)`),
        }),
      ]),
    );

    // Back again, she is not put back on the task (someone else has it).
    expect((await call('PATCH', `/users/${mia}`, 'erin', { active: true })).body).toMatchObject({ active: true, refreshedInvoices: 0 });
    expect(await queue('mia')).not.toContain(id);
    expect(await queue('dave')).toContain(id);
    expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
  });

  it('refuses to leave the company without an active admin cleared for confidential invoices', async () => {
    for (const change of [{ active: false }, { roles: ['clerk'] }, { confidential: false }]) {
      expect(await call('PATCH', `/users/${u('erin')}`, 'erin', change)).toMatchObject({
        status: 409,
        body: { error: { code: 'last_confidential_admin' } },
      });
    }
    const nora = await createUser('nora', { roles: ['admin'], confidential: true });
    expect((await call('PATCH', `/users/${nora}`, 'erin', { active: false })).status).toBe(200);
    expect((await call('GET', `/users/${u('erin')}`, 'erin')).body).toMatchObject({ active: true, roles: ['admin'], confidential: true });
  });
});

describe('groups, cost centres and clearance route invoices', () => {
  it('a flow whose approval step addresses a group created through the API routes to its members', async () => {
    const ola = await createUser('ola', { roles: ['approver'], approvalLimits: noLimit });
    const group = await call('POST', '/groups', 'erin', { id: 'signers', name: 'Signers', members: [ola] });
    expect(group).toMatchObject({ status: 201, body: { id: 'signers', members: [ola] } });
    expect(await call('POST', '/groups', 'erin', { id: 'signers', name: 'Again' })).toMatchObject({
      status: 409,
      body: { error: { code: 'id_taken' } },
    });
    expect((await call('GET', '/users?group=signers', 'alice')).body.items.map((x: { id: string }) => x.id)).toEqual([ola]);
    const vendorId = await vendorWithFlow(stack, 'Signers approve', [
      { kind: 'review', assignees: { users: [u('bob')] } },
      { kind: 'approval', assignees: { groups: ['signers'] } },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    expect(await queue('ola')).toContain(id);
    expect(await queue('carol')).not.toContain(id);

    // Replacing the members re-resolves the task of those who left.
    const replaced = await call('PATCH', '/groups/signers', 'erin', { members: [u('dave')] });
    expect(replaced).toMatchObject({ status: 200, body: { members: [u('dave')], refreshedInvoices: 1 } });
    expect((await call('GET', `/users/${ola}`, 'erin')).body.groups).toEqual([]);
    await waitFor(
      () => openAssignees(id),
      (a) => a.join() === u('dave'),
    );
    expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });

    const inUse = await call('DELETE', '/groups/signers', 'erin');
    expect(inUse).toMatchObject({ status: 409, body: { error: { code: 'in_use', message: expect.stringContaining('Signers approve') } } });
    expect((await call('POST', '/groups', 'erin', { id: 'spare', name: 'Spare', members: [u('bob')] })).status).toBe(201);
    expect((await call('DELETE', '/groups/spare', 'erin')).status).toBe(204);
    expect((await call('GET', `/users/${u('bob')}`, 'erin')).body.groups).toEqual([]);
    expect((await call('GET', '/groups', 'bob')).body.items.map((g: { id: string }) => g.id)).toEqual(['signers']);
  });

  it('a by-dimension step addresses the owners of the cost centres; a new owner takes over the open task', async () => {
    expect(await call('POST', '/cost-centres', 'erin', { code: 'CC-100', name: 'Office' })).toMatchObject({
      status: 201,
      body: { code: 'CC-100', ownerId: null, active: true },
    });
    const hugo = await createUser('hugo', { roles: ['approver'], approvalLimits: noLimit });
    const ivy = await createUser('ivy', { roles: ['approver'], approvalLimits: noLimit });
    // Rights on CC-100 but owning nothing: an owned cost centre goes to its owner only.
    await createUser('jack', { roles: ['approver'], costCentres: ['CC-100'], approvalLimits: noLimit });
    expect((await call('POST', '/cost-centres', 'erin', { code: 'CC-200', name: 'Facilities', ownerId: ivy })).status).toBe(201);
    expect(await call('PATCH', '/cost-centres/CC-100', 'erin', { ownerId: hugo })).toMatchObject({
      status: 200,
      body: { ownerId: hugo, refreshedInvoices: 0 },
    });
    expect((await call('GET', '/cost-centres?active=true', 'alice')).body.items).toEqual([
      expect.objectContaining({ code: 'CC-100', name: 'Office', ownerId: hugo }),
      expect.objectContaining({ code: 'CC-200', name: 'Facilities', ownerId: ivy }),
    ]);

    const vendorId = await vendorWithFlow(stack, 'By cost-centre owner', [
      { kind: 'approval', assignees: { byDimension: 'costCentre' }, mode: 'any' },
    ]);
    const id = await intake({ vendor: { id: vendorId } });
    await act('alice', id, 'approve');
    expect(await openAssignees(id)).toEqual([hugo, ivy].sort());
    expect(await queue('jack')).not.toContain(id);

    const moved = await call('PATCH', '/cost-centres/CC-200', 'erin', { ownerId: hugo });
    expect(moved).toMatchObject({ status: 200, body: { ownerId: hugo, refreshedInvoices: 1 } });
    await waitFor(
      () => openAssignees(id),
      (a) => a.join() === hugo,
    );
    expect(await queue('ivy')).not.toContain(id);
    expect((await act('hugo', id, 'approve')).body).toMatchObject({ stage: 'payment' });
  });

  it('a confidential invoice is handled only by the users cleared through the API', async () => {
    for (const who of ['bob', 'dave']) {
      expect((await call('PATCH', `/users/${u(who)}`, 'erin', { confidential: true })).body).toMatchObject({ confidential: true });
    }
    try {
      const id = await intake({ confidential: true }, 'erin');
      expect(await openAssignees(id)).toEqual([u('erin')]);
      await act('erin', id, 'approve');
      await waitForStage(stack, id, 'review');
      expect(await openAssignees(id)).toEqual([u('bob')]);
      await act('bob', id, 'approve');
      // carol is named by the flow but not cleared.
      expect(await openAssignees(id)).toEqual([u('dave')]);
      expect(await queue('carol')).not.toContain(id);
      expect((await call('GET', `/invoices/${id}`, 'carol')).status).toBe(404);
      expect((await call('GET', `/invoices/${id}`, 'alice')).status).toBe(404);
      expect((await act('dave', id, 'approve')).body).toMatchObject({ stage: 'payment' });
    } finally {
      for (const who of ['bob', 'dave']) await call('PATCH', `/users/${u(who)}`, 'erin', { confidential: false });
    }
  });

  it('delegates to a user of the partner company once the environments are partners through the API', async () => {
    const partner = await seedCompany(stack.database.db, `${slug()}p`);
    const id = await intake();
    await act('alice', id, 'approve');
    await act('bob', id, 'approve');
    expect(await act('carol', id, 'delegate', { to: partner.users.dave })).toMatchObject({
      status: 422,
      body: { error: { code: 'unknown_user' } },
    });

    expect(await call('POST', '/partnerships', 'erin', { environment: slug() })).toMatchObject({
      status: 422,
      body: { error: { details: [{ path: 'environment' }] } },
    });
    expect((await call('POST', '/partnerships', 'erin', { environment: `${slug()}-nowhere` })).status).toBe(422);
    const created = await call('POST', '/partnerships', 'erin', { environment: `${slug()}p` });
    expect(created).toMatchObject({ status: 201, body: { environment: `${slug()}p` } });
    expect((await call('POST', '/partnerships', 'erin', { environment: `${slug()}p` })).body.error.code).toBe('partnership_exists');
    expect((await call('GET', '/partnerships', 'alice')).body.items).toEqual([expect.objectContaining({ environment: `${slug()}p` })]);
    expect((await call('GET', '/environments', 'alice')).body.items).toEqual([
      { environment: slug(), own: true, companies: [{ name: `Company ${slug()}` }] },
      { environment: `${slug()}p`, own: false, companies: [{ name: `Company ${slug()}p` }] },
    ]);
    // The partner sees the partnership from its side; an unrelated company does not.
    expect((await call('GET', '/partnerships', `raw:${partner.tokens.erin}`)).body.items).toEqual([
      expect.objectContaining({ environment: slug() }),
    ]);
    expect((await call('GET', '/partnerships', outsider('erin'))).body.items).toEqual([]);

    expect((await act('carol', id, 'delegate', { to: partner.users.dave })).status).toBe(200);
    const partnerDave = `raw:${partner.tokens.dave}`;
    expect(await queue(partnerDave)).toContain(id);
    expect((await act(partnerDave, id, 'approve')).body).toMatchObject({ stage: 'payment' });

    expect((await call('DELETE', `/partnerships/${slug()}p`, outsider('erin'))).status).toBe(404);
    expect((await call('DELETE', `/partnerships/${slug()}p`, 'erin')).status).toBe(204);
    expect((await call('DELETE', `/partnerships/${slug()}p`, 'erin')).status).toBe(404);
    expect((await call('GET', '/partnerships', 'alice')).body.items).toEqual([]);
  });
});

describe('every directory route: company-scoped, admins write, malformed input is 422', () => {
  it("another company's objects are 404, and lists never show them", async () => {
    expect((await call('POST', '/groups', outsider('erin'), { id: 'x-team', name: 'X team', members: [other.users.bob] })).status).toBe(
      201,
    );
    expect((await call('POST', '/cost-centres', outsider('erin'), { code: 'CC-X', name: 'X', ownerId: other.users.dave })).status).toBe(
      201,
    );
    const token = await call('POST', `/users/${other.users.alice}/tokens`, outsider('erin'), {});
    expect(token.status).toBe(201);
    const theirs = other.users.alice!;
    const notFound: [string, string, unknown?][] = [
      ['GET', `/users/${theirs}`],
      ['PATCH', `/users/${theirs}`, { name: 'X' }],
      ['POST', `/users/${theirs}/tokens`, {}],
      ['GET', `/users/${theirs}/tokens`],
      ['DELETE', `/users/${theirs}/tokens/${token.body.id}`],
      ['DELETE', `/users/${u('alice')}/tokens/${token.body.id}`],
      ['DELETE', `/users/${u('alice')}/tokens/not-a-uuid`],
      ['GET', '/groups/x-team'],
      ['PATCH', '/groups/x-team', { name: 'Mine' }],
      ['DELETE', '/groups/x-team'],
      ['GET', '/cost-centres/CC-X'],
      ['PATCH', '/cost-centres/CC-X', { name: 'Mine' }],
      ['DELETE', `/partnerships/${slug()}x`],
    ];
    for (const [method, path, body] of notFound) {
      const res = await call(method, path, 'erin', body);
      expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({ method, path, status: 404, code: 'not_found' });
    }
    expect((await call('GET', `/users?q=${slug()}x`, 'erin')).body.items).toEqual([]);
    expect((await call('GET', '/groups', 'erin')).body.items.map((g: { id: string }) => g.id)).not.toContain('x-team');
    expect((await call('GET', '/cost-centres', 'erin')).body.items.map((c: { code: string }) => c.code)).not.toContain('CC-X');
    expect((await call('GET', '/environments', 'erin')).body.items.map((e: { environment: string }) => e.environment)).not.toContain(
      `${slug()}x`,
    );
    // Nor can their users, groups or cost centres be named in ours.
    const refs = [
      await call('POST', '/groups', 'erin', { id: 'mixed', name: 'Mixed', members: [theirs] }),
      await call('PATCH', `/users/${u('carol')}`, 'erin', { groups: ['x-team'], costCentres: ['CC-X'] }),
      await call('POST', '/cost-centres', 'erin', { code: 'CC-Y', name: 'Y', ownerId: other.users.dave }),
    ];
    expect(refs.map((r) => r.status)).toEqual([422, 422, 422]);
    expect(refs[1]!.body.error.details.map((d: { path: string }) => d.path)).toEqual(['groups.0', 'costCentres.0']);
  });

  it('a write with a stale If-Match is 412 and changes nothing', async () => {
    expect((await call('POST', '/groups', 'erin', { id: 'stale-check', name: 'Stale check' })).status).toBe(201);
    expect((await call('POST', '/cost-centres', 'erin', { code: 'CC-STALE', name: 'Stale check' })).status).toBe(201);
    const writes: [string, string, unknown?][] = [
      ['PATCH', `/users/${u('carol')}`, { name: 'Someone else' }],
      ['PATCH', '/groups/stale-check', { name: 'Someone else' }],
      ['DELETE', '/groups/stale-check'],
      ['PATCH', '/cost-centres/CC-STALE', { name: 'Someone else' }],
    ];
    for (const [method, path, body] of writes) {
      const read = await call('GET', path, 'erin');
      const current = read.headers.get('etag')!;
      expect(current).toBe(`"v${read.body.version}"`);
      const res = await stack.api(method, `/api/v1${path}`, {
        as: 'erin',
        ...(body === undefined ? {} : { body }),
        headers: { 'if-match': `"v${read.body.version + 1}"` },
      });
      expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({
        method,
        path,
        status: 412,
        code: 'stale_version',
      });
      const again = await call('GET', path, 'erin');
      expect({ path, body: again.body, etag: again.headers.get('etag') }).toEqual({ path, body: read.body, etag: current });
    }
  });

  it('a non-admin write is 403', async () => {
    expect((await call('POST', '/groups', 'erin', { id: 'clerks', name: 'Clerks' })).status).toBe(201);
    expect((await call('POST', '/cost-centres', 'erin', { code: 'CC-300', name: 'Canteen' })).status).toBe(201);
    const forbidden: [string, string, unknown?][] = [
      ['POST', '/users', { id: `${slug()}.zed`, name: 'Zed', email: 'zed@example.com' }],
      ['PATCH', `/users/${u('carol')}`, { name: 'Carol' }],
      ['POST', `/users/${u('carol')}/tokens`, {}],
      ['GET', `/users/${u('carol')}/tokens`],
      ['DELETE', `/users/${u('carol')}/tokens/${randomUUID()}`],
      ['POST', '/groups', { id: 'mine', name: 'Mine' }],
      ['PATCH', '/groups/clerks', { name: 'Mine' }],
      ['DELETE', '/groups/clerks'],
      ['POST', '/cost-centres', { code: 'CC-400', name: 'Mine' }],
      ['PATCH', '/cost-centres/CC-300', { name: 'Mine' }],
      ['POST', '/partnerships', { environment: `${slug()}x` }],
      ['DELETE', `/partnerships/${slug()}x`],
    ];
    for (const [method, path, body] of forbidden) {
      const res = await call(method, path, 'bob', body);
      expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({ method, path, status: 403, code: 'forbidden' });
    }
    // Reading is for everyone of the company; their own tokens too.
    expect((await call('GET', `/users/${u('carol')}`, 'bob')).status).toBe(200);
    expect((await call('GET', `/users/${u('bob')}/tokens`, 'bob')).status).toBe(200);
  });

  it('a malformed body or query is 422 with details', async () => {
    const malformed: [string, string, unknown, string[]][] = [
      [
        'POST',
        '/users',
        {
          id: 'Not An Id',
          name: '',
          email: 'nope',
          roles: ['boss'],
          approvalLimits: [
            { currency: 'EUR', amount: '1.234' },
            { currency: '*', amount: '1.001' },
            { currency: 'XXXX', amount: '1' },
          ],
        },
        ['id', 'name', 'email', 'roles.0', 'approvalLimits.0.amount', 'approvalLimits.1.amount', 'approvalLimits.2.currency'],
      ],
      [
        'PATCH',
        `/users/${u('carol')}`,
        { active: 'no', approvalLimits: [{ currency: 'JPY', amount: '10.5' }] },
        ['active', 'approvalLimits.0.amount'],
      ],
      [
        'PATCH',
        `/users/${u('carol')}`,
        {
          approvalLimits: [
            { currency: 'EUR', amount: '1' },
            { currency: 'EUR', amount: null },
          ],
        },
        ['approvalLimits.1'],
      ],
      ['POST', `/users/${u('carol')}/tokens`, { label: 5 }, ['label']],
      ['POST', '/groups', { id: 'Has Spaces', name: '' }, ['id', 'name']],
      ['PATCH', `/groups/clerks`, { members: u('alice') }, ['members']],
      ['POST', '/cost-centres', { code: '', name: 3 }, ['code', 'name']],
      ['PATCH', '/cost-centres/CC-300', { active: 'yes', extra: 1 }, ['active', '(body)']],
      ['POST', '/partnerships', { environment: '' }, ['environment']],
      ['GET', '/users?active=maybe', undefined, ['active']],
      ['GET', '/cost-centres?limit=0', undefined, ['limit']],
    ];
    for (const [method, path, body, paths] of malformed) {
      const res = await call(method, path, 'erin', body);
      expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({
        method,
        path,
        status: 422,
        code: 'validation_failed',
      });
      expect((res.body.error.details as { path: string }[]).map((d) => d.path)).toEqual(expect.arrayContaining(paths));
    }
    // Nothing was half-written.
    expect((await call('GET', `/users/${u('carol')}`, 'erin')).body).toMatchObject({
      active: true,
      approvalLimits: [{ currency: '*', amount: '10000.00' }],
    });
  });
});
