/**
 * The web page (web/, built by Vite into dist/web) served by the API process at `/`, same origin,
 * so the page talks only to /api/v1 on its own host. Client routes (/queue, /invoices/:id,
 * /admin/...) answer the page's index.html; the API's own paths never do.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import express, { type Express, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { apiTokens, companies, users } from '../db/schema';
import { hashToken } from '../lib/tokens';
import type { ApiDocs } from './openapi';

/** Where `npm run build:web` writes the page: <root>/dist/web, also from the compiled dist/api. */
export const WEB_DIST =
  path.basename(path.resolve(__dirname, '..')) === 'dist' ? path.resolve(__dirname, '../web') : path.resolve(__dirname, '../dist/web');

/** Paths that belong to the API process itself: never answered with the page. */
const NOT_THE_PAGE = /^\/(api|docs|openapi\.json|healthz|readyz|dev|assets)(\/|$)/;

/** The company and token prefix the dev launcher seeds (db/seed.ts: tokens `demo-<name>`). */
const DEMO_COMPANY = 'demo';

/**
 * Content-Security-Policy of every answer: helmet's defaults (scripts, styles, fonts and images
 * from this origin only; no plugins; no framing by others) plus `blob:` frames and images, so the
 * page can show a PDF attachment it fetched with the bearer token.
 */
export const CSP_DIRECTIVES = {
  'frame-src': ["'self'", 'blob:'],
  'img-src': ["'self'", 'data:', 'blob:'],
};

export interface WebPageOptions {
  db: Db;
  /** The built page; default WEB_DIST. */
  distDir?: string;
  /** Serve GET /dev/demo-users, the sign-in picker of the demo users (never with NODE_ENV=production). */
  demoSignIn: boolean;
}

/** Registers the page (static files and the client-route fallback) and, in development, the demo sign-in picker. */
export function mountWebPage(app: Express, { db, distDir = WEB_DIST, demoSignIn }: WebPageOptions): void {
  if (demoSignIn) app.get('/dev/demo-users', demoUsers(db));
  app.use(
    express.static(distDir, {
      index: false,
      setHeaders: (res, file) => {
        // Vite names the bundles by their content: cached for good. Anything else is checked each time.
        const hashed = path.relative(distDir, file).startsWith(`assets${path.sep}`);
        res.set('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  app.use(clientRoutes(distDir));
}

/** GET (and HEAD) of a client route, from a browser: the page's index.html. */
function clientRoutes(distDir: string): RequestHandler {
  const index = path.join(distDir, 'index.html');
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_THE_PAGE.test(req.path) || path.extname(req.path) !== '') return next();
    if (!req.accepts('html')) return next();
    if (!existsSync(index)) {
      res
        .status(503)
        .type('html')
        .set('Cache-Control', 'no-store')
        .send(
          '<!doctype html><html lang="en"><title>invoiceflow</title><h1>The web page is not built</h1>' +
            '<p>Run <code>npm run build:web</code> (<code>npm run dev</code> does it) and reload.</p></html>',
        );
      return;
    }
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  };
}

const DemoUsersView = z.object({
  users: z.array(z.object({ id: z.string(), name: z.string(), roles: z.array(z.string()), token: z.string() })),
});

/**
 * The demo company's users with their published demo tokens (`demo-alice`, ..., as the README and
 * `npm run dev` print them), for the sign-in picker. Only a token that is still valid and equals
 * the seed's formula is shown, so no other token can ever be listed; and the route exists only
 * when the process does not run with NODE_ENV=production, where the demo is never seeded.
 */
function demoUsers(db: Db): RequestHandler {
  return async (_req, res) => {
    const rows = await db
      .select({ id: users.id, name: users.name, roles: users.roles, tokenHash: apiTokens.tokenHash })
      .from(users)
      .innerJoin(companies, eq(companies.id, users.companyId))
      .innerJoin(apiTokens, and(eq(apiTokens.userId, users.id), isNull(apiTokens.revokedAt), eq(apiTokens.label, 'demo')))
      .where(and(eq(companies.slug, DEMO_COMPANY), eq(users.active, true)))
      .orderBy(users.id);
    const seen = new Set<string>();
    const listed = [];
    for (const row of rows) {
      const token = `${DEMO_COMPANY}-${row.id.slice(DEMO_COMPANY.length + 1)}`;
      if (seen.has(row.id) || !row.id.startsWith(`${DEMO_COMPANY}.`) || row.tokenHash !== hashToken(token)) continue;
      seen.add(row.id);
      listed.push({ id: row.id, name: row.name, roles: row.roles, token });
    }
    res.set('Cache-Control', 'no-store').json({ users: listed } satisfies z.infer<typeof DemoUsersView>);
  };
}

/** /dev/demo-users in the OpenAPI document (only where it is served). */
export const demoUsersDocs: ApiDocs = (d) => {
  d.registry.registerPath({
    method: 'get',
    path: '/dev/demo-users',
    tags: ['System'],
    summary: "Development only (absent with NODE_ENV=production): the demo company's users and their published demo tokens",
    responses: { 200: d.json(DemoUsersView, 'The demo users') },
  });
};
