import { z } from 'zod';
import type { ApiDocs } from '../openapi';

/**
 * The routes outside /api/v1 that api/app.ts serves itself (health, readiness, this document),
 * registered as they are: no bearer token, no prefix.
 */
export const systemDocs: ApiDocs = (d) => {
  const tags = ['System'];
  d.registry.registerPath({
    method: 'get',
    path: '/healthz',
    tags,
    summary: 'Liveness: the process answers (no token)',
    responses: { 200: d.json(z.object({ status: z.literal('ok') }), 'Alive') },
  });
  const Readiness = z.object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ database: z.string(), temporal: z.string() }).openapi({ description: '"ok" or "failing: <why>" each' }),
  });
  d.registry.registerPath({
    method: 'get',
    path: '/readyz',
    tags,
    summary: 'Readiness: Postgres and Temporal answer (no token)',
    responses: { 200: d.json(Readiness, 'Ready'), 503: d.json(Readiness, 'A dependency is failing') },
  });
  d.registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    tags,
    summary: 'This OpenAPI document (no token); the docs page is /docs',
    responses: { 200: d.json(z.object({}).passthrough(), 'OpenAPI 3.1') },
  });
};
