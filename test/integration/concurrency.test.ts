import { sql, type SQL } from 'drizzle-orm';
import { startStack, waitFor, type ApiResponse, type Stack } from '../harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const u = (name: string) => stack.company.users[name]!;
const slug = () => u('alice').split('.')[0]!;
let unique = 0;
/** A name (or id part) no other test of this file uses. */
const fresh = (what: string) => `${what}-${Date.now()}-${++unique}`;

const call = (method: string, path: string, opts: { as?: string; body?: unknown; ifMatch?: string } = {}): Promise<ApiResponse> =>
  stack.api(method, `/api/v1${path}`, {
    as: opts.as ?? 'erin',
    ...(opts.body === undefined ? {} : { body: opts.body }),
    ...(opts.ifMatch === undefined ? {} : { headers: { 'if-match': opts.ifMatch } }),
  });

async function created(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await call('POST', path, { body });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.headers.get('etag')).toBe(`"v${res.body.version}"`);
  return res.body;
}

const codingTemplate = (name: string) => ({
  name,
  rows: [
    { account: '6000', percent: '60' },
    { account: '6010', percent: '40' },
  ],
  taxAccount: '2640',
  taxCode: 'VAT-IN',
});
const flowTemplate = (name: string) => ({ name, steps: [{ kind: 'approval', assignees: { roles: ['approver'] } }] });
const agreement = (amountTo: string) => ({
  vendorId: stack.company.vendorId,
  referencePattern: 'NEVER-%',
  amountFrom: '1.00',
  amountTo,
  days: 1,
  codingTemplateId: stack.company.codingTemplateId,
  approvalUserId: u('dave'),
});

/** A versioned object made for one case: where it is, and the statement that locks its row. */
interface Made {
  path: string;
  lock: SQL;
}

interface Case {
  method: 'PUT' | 'PATCH' | 'DELETE';
  /** The route, for the failure messages. */
  route: string;
  make(): Promise<Made>;
  /** A valid body for the write; `n` tells concurrent writers apart. */
  body?: (n: number) => unknown;
}

const makeUser = async (): Promise<Made> => {
  const id = `${slug()}.${fresh('user')}`;
  await created('/users', { id, name: 'Uma', email: `${id}@example.com` });
  return { path: `/users/${id}`, lock: sql`select 1 from users where id = ${id} for update` };
};
const makeGroup = async (): Promise<Made> => {
  const id = fresh('group');
  await created('/groups', { id, name: 'Group' });
  return { path: `/groups/${id}`, lock: sql`select 1 from groups where id = ${id} for update` };
};
const makeCostCentre = async (): Promise<Made> => {
  const code = fresh('CC');
  await created('/cost-centres', { code, name: 'Centre' });
  return { path: `/cost-centres/${code}`, lock: sql`select 1 from cost_centres where code = ${code} for update` };
};
const byId = (path: string, table: string, body: () => unknown) => async (): Promise<Made> => {
  const { id } = (await created(path, body())) as { id: string };
  return { path: `${path}/${id}`, lock: sql`select 1 from ${sql.identifier(table)} where id = ${id} for update` };
};
const makeCodingTemplate = byId('/coding-templates', 'coding_templates', () => codingTemplate(fresh('Coding')));
const makeFlowTemplate = byId('/flow-templates', 'flow_templates', () => flowTemplate(fresh('Flow')));
const makeVendor = byId('/vendors', 'vendors', () => ({ name: fresh('Vendor') }));
const makeAgreement = byId('/agreements', 'agreements', () => agreement('2.00'));
const theSettings = async (): Promise<Made> => ({
  path: '/settings',
  lock: sql`select 1 from settings where company_id = ${stack.company.companyId} for update`,
});

/** Every write of a master-data object: PUT, PATCH and DELETE. */
const cases: Case[] = [
  { method: 'PATCH', route: '/users/:id', make: makeUser, body: (n) => ({ name: `Uma ${n}` }) },
  { method: 'PATCH', route: '/groups/:id', make: makeGroup, body: (n) => ({ name: `Group ${n}` }) },
  { method: 'DELETE', route: '/groups/:id', make: makeGroup },
  { method: 'PATCH', route: '/cost-centres/:code', make: makeCostCentre, body: (n) => ({ name: `Centre ${n}` }) },
  { method: 'PUT', route: '/coding-templates/:id', make: makeCodingTemplate, body: (n) => codingTemplate(fresh(`Coding ${n}`)) },
  { method: 'PATCH', route: '/coding-templates/:id', make: makeCodingTemplate, body: () => ({ active: false }) },
  { method: 'DELETE', route: '/coding-templates/:id', make: makeCodingTemplate },
  { method: 'PUT', route: '/flow-templates/:id', make: makeFlowTemplate, body: (n) => flowTemplate(fresh(`Flow ${n}`)) },
  { method: 'DELETE', route: '/flow-templates/:id', make: makeFlowTemplate },
  { method: 'PATCH', route: '/vendors/:id', make: makeVendor, body: (n) => ({ name: fresh(`Vendor ${n}`) }) },
  { method: 'PUT', route: '/agreements/:id', make: makeAgreement, body: (n) => agreement(`${n + 3}.00`) },
  { method: 'PATCH', route: '/agreements/:id', make: makeAgreement, body: () => ({ active: false }) },
  { method: 'DELETE', route: '/agreements/:id', make: makeAgreement },
  { method: 'PATCH', route: '/settings', make: theSettings, body: (n) => ({ receivableAccount: `15${n}0` }) },
];

/** The object as read, with its version from the ETag (which must agree with the body's). */
async function read(path: string): Promise<{ version: number; body: Record<string, unknown> }> {
  const res = await call('GET', path, { as: 'alice' });
  expect(res.status).toBe(200);
  const version = Number(/^"v(\d+)"$/.exec(res.headers.get('etag') ?? '')?.[1]);
  expect(res.body.version).toBe(version);
  return { version, body: res.body };
}

const write = (c: Case, path: string, ifMatch?: string, n = 1) =>
  call(c.method, path, { ...(c.body ? { body: c.body(n) } : {}), ...(ifMatch === undefined ? {} : { ifMatch }) });

/**
 * Sends requests while holding the row `lock` selects, each once `waiting` sessions queue behind
 * the lock (directly, or behind a session that does), and releases it after the last: only then
 * is it certain that they all read the object before any of them could write it.
 */
async function whileLocked(lock: SQL, steps: { send: () => Promise<ApiResponse>; waiting: number }[]): Promise<ApiResponse[]> {
  const sent: Promise<ApiResponse>[] = [];
  await stack.database.db.transaction(async (tx) => {
    await tx.execute(lock);
    const [{ pid }] = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as [{ pid: number }];
    for (const step of steps) {
      await waitFor(
        () => queuedBehind(pid),
        (n) => n >= step.waiting,
        10_000,
      );
      sent.push(step.send());
    }
    await waitFor(
      () => queuedBehind(pid),
      (n) => n >= steps.length,
      10_000,
    );
  });
  return Promise.all(sent);
}

/** How many sessions wait, directly or through others, for the session `pid` (other suites' sessions do not count). */
async function queuedBehind(pid: number): Promise<number> {
  const rows = (await stack.database.db.execute(sql`
    with recursive queued(pid) as (
      select pid from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid))
      union
      select a.pid from pg_stat_activity a join queued q on q.pid = any(pg_blocking_pids(a.pid))
    )
    select count(*)::int as n from queued`)) as unknown as { n: number }[];
  return rows[0]!.n;
}

describe('optimistic concurrency of master data (If-Match)', () => {
  it('for every write, a stale If-Match is 412 and changes nothing; the current ETag succeeds and answers the next one', async () => {
    const problems: string[] = [];
    const expectThat = (ok: boolean, what: string) => {
      if (!ok) problems.push(what);
    };
    for (const c of cases) {
      const label = `${c.method} ${c.route}`;
      const { path } = await c.make();
      const before = await read(path);
      const stale = `"v${before.version + 1}"`;
      const refused = await write(c, path, stale);
      expectThat(
        refused.status === 412 &&
          refused.body?.error?.code === 'stale_version' &&
          refused.body.error.message === `It was changed meanwhile (version ${before.version}); reload it and apply your change again`,
        `${label} with If-Match ${stale}: ${refused.status} ${JSON.stringify(refused.body)}`,
      );
      // Not of the form "v<digits>": names no version, so it cannot be the current one.
      for (const malformed of [
        `v${before.version}`,
        `W/"v${before.version}"`,
        `"coding-${before.version}"`,
        `"v${before.version}", "v9"`,
        '',
      ]) {
        const res = await write(c, path, malformed);
        expectThat(res.status === 412 && res.body?.error?.code === 'stale_version', `${label} with If-Match '${malformed}': ${res.status}`);
      }
      const after = await read(path);
      expectThat(JSON.stringify(after) === JSON.stringify(before), `${label}: a refused write changed ${JSON.stringify(after)}`);

      const applied = await write(c, path, `"v${before.version}"`);
      if (c.method === 'DELETE') {
        expectThat(applied.status === 204, `${label} with the current If-Match: ${applied.status} ${JSON.stringify(applied.body)}`);
        expectThat((await call('GET', path)).status === 404, `${label}: still there`);
      } else {
        const next = `"v${before.version + 1}"`;
        expectThat(
          applied.status === 200 && applied.headers.get('etag') === next && applied.body.version === before.version + 1,
          `${label} with the current If-Match: ${applied.status} ETag ${applied.headers.get('etag')} ${JSON.stringify(applied.body)}`,
        );
        expectThat((await read(path)).version === before.version + 1, `${label}: GET does not show the next version`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('two concurrent writes with the same If-Match: exactly one is applied, the other is 412, though both passed the first check', async () => {
    const problems: string[] = [];
    for (const c of cases.filter((k) => k.method !== 'DELETE')) {
      const label = `${c.method} ${c.route}`;
      const { path, lock } = await c.make();
      const before = await read(path);
      const ifMatch = `"v${before.version}"`;
      // Hold the row until both requests have passed the first check and wait to write: only the
      // guarded write can tell them apart then.
      const results = await whileLocked(lock, [
        { send: () => write(c, path, ifMatch, 1), waiting: 0 },
        { send: () => write(c, path, ifMatch, 2), waiting: 0 },
      ]);
      const statuses = results.map((r) => r.status).sort();
      const loser = results.find((r) => r.status === 412);
      if (
        statuses.join() !== '200,412' ||
        loser?.body.error.message !== `It was changed meanwhile (version ${before.version + 1}); reload it and apply your change again`
      ) {
        problems.push(`${label}: ${results.map((r) => `${r.status} ${JSON.stringify(r.body)}`).join(' | ')}`);
        continue;
      }
      const winner = results.find((r) => r.status === 200)!;
      const now = await read(path);
      if (now.version !== before.version + 1 || JSON.stringify(now.body) !== JSON.stringify(pick(winner.body, Object.keys(now.body))))
        problems.push(`${label}: the object is ${JSON.stringify(now.body)}, the winner answered ${JSON.stringify(winner.body)}`);
    }
    expect(problems).toEqual([]);
  });

  it('a DELETE queued behind a change made with the same ETag is 412, and the object stays', async () => {
    const problems: string[] = [];
    for (const remove of cases.filter((k) => k.method === 'DELETE')) {
      const change = cases.find((k) => k.route === remove.route && k.method !== 'DELETE')!;
      const { path, lock } = await remove.make();
      const ifMatch = `"v${(await read(path)).version}"`;
      // The change queues first, the delete behind it: both hold the same ETag.
      const [c, r] = (await whileLocked(lock, [
        { send: () => write(change, path, ifMatch), waiting: 0 },
        { send: () => write(remove, path, ifMatch), waiting: 1 },
      ])) as [ApiResponse, ApiResponse];
      if (c.status !== 200 || r.status !== 412 || (await call('GET', path)).status !== 200)
        problems.push(`${remove.route}: ${change.method} ${c.status}, DELETE ${r.status} ${JSON.stringify(r.body)}`);
    }
    expect(problems).toEqual([]);
  });

  it('of many clients racing with one ETag, exactly one wins', async () => {
    const { path } = await makeVendor();
    const { version } = await read(path);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call('PATCH', path, { body: { name: fresh(`Racer ${i}`) }, ifMatch: `"v${version}"` })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    expect((await read(path)).version).toBe(version + 1);
  });

  it('without If-Match a write proceeds as before; "*" matches any version', async () => {
    const { path } = await makeVendor();
    const blind = await call('PATCH', path, { body: { email: 'ap@blind.example' } });
    expect(blind).toMatchObject({ status: 200, body: { email: 'ap@blind.example', version: 2 } });
    const any = await call('PATCH', path, { body: { email: 'ap@any.example' }, ifMatch: '*' });
    expect(any).toMatchObject({ status: 200, body: { version: 3 } });
    expect(any.headers.get('etag')).toBe('"v3"');
    // A refused write is judged before its body: the client learns of the conflict first.
    expect((await call('PATCH', path, { body: { name: 42 }, ifMatch: '"v2"' })).status).toBe(412);
    // The object must be visible first: another company's, or an unknown one, is 404 whatever If-Match says.
    expect((await call('PATCH', '/vendors/00000000-0000-4000-8000-000000000000', { body: {}, ifMatch: '"v1"' })).status).toBe(404);
    expect((await call('PATCH', path, { as: 'bob', body: {}, ifMatch: '"v1"' })).status).toBe(403);
  });

  it("a user's groups and a group's members are one fact: changing it through either makes a new version of both", async () => {
    const { path: groupPath } = await makeGroup();
    const group = groupPath.split('/').pop()!;
    const { path: userPath } = await makeUser();
    const user = userPath.split('/').pop()!;
    const [g1, u1] = [await read(groupPath), await read(userPath)];

    // Joining through the user: the group's member list changed, so its ETag did.
    expect((await call('PATCH', userPath, { body: { groups: [group] }, ifMatch: `"v${u1.version}"` })).status).toBe(200);
    const g2 = await read(groupPath);
    expect(g2).toMatchObject({ version: g1.version + 1, body: { members: [user] } });
    // An admin who read the group before would drop the new member: refused.
    expect((await call('PATCH', groupPath, { body: { members: [] }, ifMatch: `"v${g1.version}"` })).status).toBe(412);
    expect((await read(groupPath)).body.members).toEqual([user]);

    // Leaving through the group: the user's groups changed.
    expect((await call('PATCH', groupPath, { body: { members: [] }, ifMatch: `"v${g2.version}"` })).status).toBe(200);
    expect(await read(userPath)).toMatchObject({ version: u1.version + 2, body: { groups: [] } });
    // Deleting the group takes it off its members: a new version of them too.
    expect((await call('PATCH', groupPath, { body: { members: [user] } })).status).toBe(200);
    const member = await read(userPath);
    expect((await call('DELETE', groupPath, { ifMatch: `"v${(await read(groupPath)).version}"` })).status).toBe(204);
    expect(await read(userPath)).toMatchObject({ version: member.version + 1, body: { groups: [] } });
  });

  it('making a template the default is a new version of the one that was', async () => {
    for (const [path, body] of [
      ['/coding-templates', codingTemplate],
      ['/flow-templates', flowTemplate],
    ] as const) {
      const first = await created(path, { ...body(fresh('Default A')), isDefault: true });
      const second = await created(path, { ...body(fresh('Default B')), isDefault: true });
      expect(await read(`${path}/${first.id}`)).toMatchObject({ version: 2, body: { isDefault: false } });
      // Back again with PUT: the second is no longer the default either.
      const back = await call('PUT', `${path}/${first.id}`, { body: { ...body(first.name as string), isDefault: true }, ifMatch: '"v2"' });
      expect(back).toMatchObject({ status: 200, body: { isDefault: true, version: 3 } });
      expect(await read(`${path}/${second.id}`)).toMatchObject({ version: 2, body: { isDefault: false } });
    }
  });

  it('lists carry each item version; resetting the cumulative total, kept by the system, is no new version (nor answered 304)', async () => {
    const { path } = await makeAgreement();
    const { version } = await read(path);
    const reset = await call('POST', `${path}/reset-cumulative`);
    expect(reset).toMatchObject({ status: 200, body: { cumulativeTotal: '0', version } });
    expect(reset.headers.get('etag')).toBe(`"v${version}"`);
    // Its cumulative total moves under one ETag, so a revalidation is answered in full; other objects' 304 is safe.
    // (fetch sends Cache-Control: no-cache with If-None-Match, which Express never answers 304; a browser cache does not.)
    const revalidate = (at: string) =>
      stack.api('GET', `/api/v1${at}`, { as: 'alice', headers: { 'if-none-match': `"v${version}"`, 'cache-control': 'max-age=0' } });
    expect((await revalidate(path)).status).toBe(200);
    const vendor = await makeVendor();
    expect((await revalidate(vendor.path)).status).toBe(304);
    for (const list of ['/users', '/groups', '/cost-centres', '/coding-templates', '/flow-templates', '/vendors', '/agreements']) {
      const res = await call('GET', `${list}${list === '/groups' ? '' : '?limit=200'}`, { as: 'alice' });
      expect({ list, status: res.status }).toEqual({ list, status: 200 });
      const unversioned = (res.body.items as { version?: unknown }[]).filter((i) => !Number.isInteger(i.version));
      expect({ list, unversioned }).toEqual({ list, unversioned: [] });
    }
  });

  it('the OpenAPI document names If-Match and the 412 on every versioned write, and the ETag of every versioned read', async () => {
    const doc = (await stack.api('GET', '/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { parameters?: { in: string; name: string }[]; responses: Record<string, { headers?: object }> }>
      >;
    };
    const missing: string[] = [];
    for (const c of cases) {
      const path = `/api/v1${c.route.replace(/:(\w+)/g, '{$1}')}`;
      const op = doc.paths[path]?.[c.method.toLowerCase()];
      if (!op?.parameters?.some((p) => p.in === 'header' && p.name === 'if-match')) missing.push(`${c.method} ${path}: If-Match`);
      if (!op?.responses['412']) missing.push(`${c.method} ${path}: 412`);
      const get = doc.paths[path]?.get;
      if (!get?.responses['200']?.headers || !('ETag' in get.responses['200'].headers)) missing.push(`GET ${path}: ETag`);
    }
    expect(missing).toEqual([]);
  });
});

function pick(body: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, body[k]]));
}
