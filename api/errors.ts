import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../lib/logger';

/** The one error type of the API; the middleware writes it as `{error: {code, message, details}}`. */
export class ApiError extends Error {
  /** Extra response headers, such as `Retry-After` on a 503. */
  headers: Record<string, string> = {};

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static notFound(what = 'resource'): ApiError {
    return new ApiError(404, 'not_found', `No such ${what}`);
  }
}

export function zodDetails(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/** Parses input with a schema or throws a 422 listing every problem at once. */
export function parseOr422<T extends z.ZodType>(schema: T, input: unknown, what = 'request'): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ApiError(422, 'validation_failed', `The ${what} is not valid`, zodDetails(parsed.error));
  return parsed.data;
}

export const notFoundRoute: RequestHandler = (req) => {
  throw new ApiError(404, 'not_found', `No route ${req.method} ${req.path}`);
};

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

/**
 * Driver codes of a database that is away (postgres.js, Node) and SQLSTATEs of a server shutting
 * down or starting (57P01-57P03), a lost or refused connection (08000, 08001, 08003, 08004, 08006;
 * not 08P01, a protocol violation no retry mends), too many connections (53300).
 */
const DATABASE_AWAY =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|CONNECTION_CLOSED|CONNECTION_ENDED|CONNECTION_DESTROYED|CONNECT_TIMEOUT|57P0[123]|0800[01346]|53300)$/;
/** gRPC statuses of a Temporal service that is away or did not answer in time: UNAVAILABLE, DEADLINE_EXCEEDED. */
const GRPC_AWAY = new Set([14, 4]);

/**
 * Which dependency an error says is away for now (anywhere in its cause chain: drizzle wraps the
 * driver's error, the Temporal client wraps the gRPC one), or undefined. Such a request was not
 * applied and may be sent again: 503 with Retry-After, not 500.
 */
export function dependencyAway(err: unknown): 'database' | 'temporal' | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; metadata?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && DATABASE_AWAY.test(e.code)) return 'database';
    if (typeof e.code === 'number' && e.metadata !== undefined && GRPC_AWAY.has(e.code)) return 'temporal';
    e = e.cause as typeof e;
  }
  return undefined;
}

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let error: ApiError;
    const e = err as BodyParserError;
    const away = err instanceof ApiError ? undefined : dependencyAway(err);
    if (err instanceof ApiError) error = err;
    else if (e?.type === 'entity.parse.failed') error = new ApiError(400, 'malformed_json', 'The request body is not valid JSON');
    else if (e?.type === 'entity.too.large') error = new ApiError(413, 'payload_too_large', 'The request body is too large');
    else if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
      error = new ApiError(415, 'unsupported_encoding', e.message);
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      error = new ApiError(e.status, 'bad_request', e.message);
    } else if (away) {
      log.warn({ err, method: req.method, path: req.path, away }, 'dependency unavailable');
      error = new ApiError(
        503,
        'unavailable',
        `The ${away === 'database' ? 'database' : 'workflow service'} is not reachable just now; try again (an Idempotency-Key makes a retry safe)`,
      );
      error.headers = { 'Retry-After': '5' };
    } else {
      log.error({ err, method: req.method, path: req.path }, 'unhandled error');
      error = new ApiError(500, 'internal', 'Something went wrong on our side; the request was not applied');
    }
    res.set(error.headers);
    res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details } });
  };
}
