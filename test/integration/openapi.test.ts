import type { Express } from 'express';
import { createApp } from '../../api/app';
import { createLogger } from '../../lib/logger';
import { startStack, type Stack } from '../harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** What this test reads of an Express 5 (router 2) layer. */
interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  /** The path the layer was registered with, e.g. the mount path of `app.use('/api/v1', router)`. */
  rawPath?: unknown;
}

interface Operation {
  tags?: string[];
  summary?: string;
}
type Paths = Record<string, Record<string, Operation>>;

interface Route {
  method: string;
  path: string;
}

function build(): Express {
  return createApp({ database: stack.database, temporal: stack.temporal, logger: createLogger('openapi-test', 'silent') });
}

/** Every (method, path) the app serves, with the mount paths of nested routers prefixed. */
function expressRoutes(app: Express): Route[] {
  const routes: Route[] = [];
  const join = (prefix: string, path: string) => `${prefix}${path === '/' ? '' : path}` || '/';
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const { path, methods } = layer.route;
        if (typeof path !== 'string') throw new Error(`route ${String(path)} is not a plain path: teach this test to read it`);
        for (const [method, on] of Object.entries(methods))
          if (on) routes.push({ method: method === '_all' ? 'all' : method, path: join(prefix, path) });
      } else if (layer.handle?.stack) {
        if (typeof layer.rawPath !== 'string')
          throw new Error(`a router is mounted at ${String(layer.rawPath)}: teach this test to read it`);
        walk(layer.handle.stack, join(prefix, layer.rawPath));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return routes;
}

/** The router mounted at `mount` (to add a route to it in the self-check). */
function mountedRouter(app: Express, mount: string): Layer['handle'] & { get: Express['get'] } {
  const layer = (app as unknown as { router: { stack: Layer[] } }).router.stack.find((l) => l.rawPath === mount && l.handle?.stack);
  if (!layer) throw new Error(`no router mounted at ${mount}`);
  return layer.handle as Layer['handle'] & { get: Express['get'] };
}

const segments = (path: string) => path.split('/').slice(1);
const isParam = (openApiSegment: string) => /^\{\w+\}$/.test(openApiSegment);
/** An Express path segment serves a documented one: the same text, `:x` for `{x}`, or `:x` for a fixed value. */
const segmentServes = (express: string, doc: string) =>
  express.startsWith(':') ? !isParam(doc) || doc === `{${express.slice(1)}}` : express === doc;

/**
 * Whether the document has the route: the same path with `{param}` for `:param`, or, for a route
 * whose parameter takes a few fixed values (`/invoices/:id/actions/:action`), paths with those values.
 */
function documented(route: Route, paths: Paths): boolean {
  if (paths[route.path.replace(/:(\w+)/g, '{$1}')]?.[route.method]) return true;
  const expected = segments(route.path);
  return Object.entries(paths).some(
    ([path, ops]) =>
      ops[route.method] !== undefined &&
      segments(path).length === expected.length &&
      segments(path).every((s, i) => segmentServes(expected[i]!, s)),
  );
}

/** The routes missing from the document, as "METHOD /path". */
function undocumented(routes: Route[], paths: Paths): string[] {
  return routes.filter((r) => !documented(r, paths)).map((r) => `${r.method.toUpperCase()} ${r.path}`);
}

async function openApiPaths(): Promise<Paths> {
  const res = await stack.api('GET', '/openapi.json');
  expect(res.status).toBe(200);
  return res.body.paths as Paths;
}

describe('the OpenAPI document', () => {
  it('has every route the Express app serves', async () => {
    const paths = await openApiPaths();
    const routes = expressRoutes(build());
    // The walk must have found the API router's routes, not only the app's own.
    expect(routes).toEqual(
      expect.arrayContaining([
        { method: 'get', path: '/api/v1/invoices' },
        { method: 'get', path: '/healthz' },
      ]),
    );
    expect(undocumented(routes, paths)).toEqual([]);
  });

  it('documents no route that the app does not serve, and tags and summarises every operation', async () => {
    const paths = await openApiPaths();
    const served = expressRoutes(build()).map((r) => ({ method: r.method, path: segments(r.path) }));
    const stale: string[] = [];
    const untagged: string[] = [];
    for (const [path, ops] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const doc = segments(path);
        const serves = served.some(
          (r) => r.method === method && r.path.length === doc.length && r.path.every((s, i) => segmentServes(s, doc[i]!)),
        );
        if (!serves) stale.push(`${method.toUpperCase()} ${path}`);
        if (!op.tags?.length || !op.summary) untagged.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(stale).toEqual([]);
    expect(untagged).toEqual([]);
  });

  it('the check names a route added without docs, also inside the mounted API router', async () => {
    const paths = await openApiPaths();
    const app = build();
    mountedRouter(app, '/api/v1').get('/vendors/:id/undocumented', (_req, res) => {
      res.end();
    });
    app.post('/undocumented-too', (_req, res) => {
      res.end();
    });
    expect(undocumented(expressRoutes(app), paths)).toEqual(['GET /api/v1/vendors/:id/undocumented', 'POST /undocumented-too']);
  });

  it('the docs page serves the document, grouped by tags', async () => {
    const page = await stack.api('GET', '/docs/');
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('swagger-ui');
    const tags = new Set(Object.values(await openApiPaths()).flatMap((ops) => Object.values(ops).flatMap((op) => op.tags ?? [])));
    expect([...tags]).toEqual(expect.arrayContaining(['Coding templates', 'Vendors', 'Agreements', 'Flow templates', 'Settings']));
  });
});
