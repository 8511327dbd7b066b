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

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let error: ApiError;
    const e = err as BodyParserError;
    if (err instanceof ApiError) error = err;
    else if (e?.type === 'entity.parse.failed') error = new ApiError(400, 'malformed_json', 'The request body is not valid JSON');
    else if (e?.type === 'entity.too.large') error = new ApiError(413, 'payload_too_large', 'The request body is too large');
    else if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
      error = new ApiError(415, 'unsupported_encoding', e.message);
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      error = new ApiError(e.status, 'bad_request', e.message);
    } else {
      log.error({ err, method: req.method, path: req.path }, 'unhandled error');
      error = new ApiError(500, 'internal', 'Something went wrong on our side; the request was not applied');
    }
    res.set(error.headers);
    res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details } });
  };
}
