import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ErrorBody } from './schemas';

/**
 * What a router module gives the OpenAPI document: its paths, registered with the same zod
 * schemas that validate its requests. Each router file exports one (`invoicesDocs`, ...).
 */
export type ApiDocs = (docs: DocsBuilder) => void;

/** Registers paths with the usual parts (bearer security, the error shape, JSON bodies). */
export class DocsBuilder {
  readonly registry = new OpenAPIRegistry();
  readonly security: RouteConfig['security'];

  constructor() {
    const bearer = this.registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
    this.security = [{ [bearer.name]: [] }];
  }

  /** One path; `tag` groups it on the docs page. Paths are Express-style (`/x/:id`). */
  path(tag: string, method: RouteConfig['method'], path: string, config: Omit<RouteConfig, 'method' | 'path'>): void {
    this.registry.registerPath({
      security: this.security,
      tags: [tag],
      ...config,
      method,
      path: `/api/v1${path.replace(/:(\w+)/g, '{$1}')}`,
    });
  }

  error(description: string) {
    return { description, content: { 'application/json': { schema: ErrorBody } } };
  }

  json(schema: z.ZodType, description: string) {
    return { description, content: { 'application/json': { schema } } };
  }

  /** A request body. */
  body(schema: z.ZodType) {
    return { content: { 'application/json': { schema } } };
  }

  /** A page of a list: `{items, nextCursor}`. */
  page(item: z.ZodType = z.unknown(), description = 'A page') {
    return this.json(z.object({ items: z.array(item), nextCursor: z.string().nullable() }), description);
  }

  /** The answers every authenticated route can give. */
  readonly common = {
    401: this.error('No valid bearer token'),
  };
}

/** Path parameter `id`. */
export const idParam = z.object({ id: z.string() });

/** The OpenAPI 3.1 document of every route, generated from the routers' registrations. */
export function openApiDocument(parts: readonly ApiDocs[]) {
  const docs = new DocsBuilder();
  for (const part of parts) part(docs);
  return new OpenApiGeneratorV31(docs.registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'invoiceflow', version: '0.1.0', description: 'Durable invoice approval on Temporal' },
    servers: [{ url: '/' }],
  });
}
