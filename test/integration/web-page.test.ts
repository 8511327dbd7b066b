/**
 * The API process serves the web page at `/` (same origin, helmet's CSP), answers client routes
 * with the page and its own paths never with it; GET /me tells the page who signed in; the demo
 * sign-in picker exists only outside production and lists only the published demo tokens.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createApp } from '../../api/app';
import { WEB_DIST } from '../../api/web';
import { seedCompany } from '../../db/seed';
import { createLogger } from '../../lib/logger';
import { invoiceBody, startStack, waitForStage, type Stack } from '../harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

interface DemoUsers {
  users: { id: string; name: string; roles: string[]; token: string }[];
}

const page = (path: string, headers: Record<string, string> = { accept: 'text/html' }) => fetch(`${stack.baseUrl}${path}`, { headers });

describe('the web page served by the API', () => {
  it('answers / and every client route with the page, under a same-origin CSP', async () => {
    for (const route of ['/', '/queue?queue=past-due', '/invoices/4b1c5e4e-0000-4000-8000-000000000000', '/admin/agreements/new']) {
      const res = await page(route);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<div id="root"></div>');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toMatch(/frame-src 'self' blob:/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('serves the bundles for good and never answers the API’s own paths with the page', async () => {
    const asset = readdirSync(path.join(WEB_DIST, 'assets')).find((f) => f.endsWith('.js'))!;
    const bundle = await page(`/assets/${asset}`, {});
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('cache-control')).toContain('immutable');

    for (const [route, status] of [
      ['/api/v1/no-such-route', 401],
      ['/assets/missing.js', 404],
      ['/healthz', 200],
      ['/openapi.json', 200],
      ['/dev/nothing', 404],
    ] as const) {
      const res = await page(route);
      expect({ route, status: res.status }).toEqual({ route, status });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
    const post = await fetch(`${stack.baseUrl}/queue`, { method: 'POST', headers: { accept: 'text/html' } });
    expect(post.status).toBe(404);
  });

  it('GET /me names the signed-in user, their roles and company', async () => {
    const me = await stack.api('GET', '/api/v1/me', { as: 'carol' });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      id: stack.company.users.carol,
      roles: ['approver'],
      approvalLimits: [{ currency: '*', amount: '10000.00' }],
      company: { id: stack.company.companyId },
    });
    expect((await stack.api('GET', '/api/v1/me')).status).toBe(401);
  });

  it('tells in the work queue whether a task is shared with others (so not mine can be offered)', async () => {
    const created = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack) });
    await waitForStage(stack, created.body.id, 'new');
    for (const who of ['alice', 'bob']) {
      expect((await stack.api('POST', `/api/v1/invoices/${created.body.id}/actions/approve`, { as: who, body: {} })).status).toBe(200);
    }
    const carol = await stack.api('GET', '/api/v1/work-queue', { as: 'carol' });
    expect(carol.body.items.find((i: { invoiceId: string }) => i.invoiceId === created.body.id)).toMatchObject({
      stage: 'approval',
      shared: true,
    });
  });

  it('lists the demo users with their published tokens for the sign-in picker, only while those tokens are valid', async () => {
    const demo = await seedCompany(stack.database.db, 'demo', { directory: true });
    const listed = (await (await page('/dev/demo-users', {})).json()) as DemoUsers;
    expect(listed.users).toEqual(
      expect.arrayContaining([
        { id: demo.users.alice, name: expect.any(String), roles: ['clerk'], token: 'demo-alice' },
        { id: demo.users.erin, name: expect.any(String), roles: ['admin'], token: 'demo-erin' },
      ]),
    );
    // A test company's users are never listed, whatever their tokens.
    expect(listed.users.map((u) => u.id)).not.toContain(stack.company.users.alice);

    // Once bob's published token is revoked, the picker no longer offers him.
    const tokens = await stack.api('GET', `/api/v1/users/${demo.users.bob}/tokens`, { as: 'raw:demo-erin' });
    const published = tokens.body.items.find((t: { label: string }) => t.label === 'demo');
    expect((await stack.api('DELETE', `/api/v1/users/${demo.users.bob}/tokens/${published.id}`, { as: 'raw:demo-erin' })).status).toBe(204);
    const after = (await (await page('/dev/demo-users', {})).json()) as DemoUsers;
    expect(after.users.map((u) => u.id)).not.toContain(demo.users.bob);
  });

  it('has no demo picker, in the document or served, when the process runs as production', async () => {
    const app = createApp({
      database: stack.database,
      temporal: stack.temporal,
      logger: createLogger('web-test', 'silent'),
      demoSignIn: false,
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${base}/dev/demo-users`)).status).toBe(404);
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).not.toContain('/dev/demo-users');
      expect(Object.keys(doc.paths)).toContain('/api/v1/me');
      expect((await fetch(`${base}/`, { headers: { accept: 'text/html' } })).status).toBe(200);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
