import type { Request, RequestHandler, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * helmet's security headers (nosniff, frame and referrer policies, CSP, ...), worked out once.
 * helmet runs twelve middlewares per request and builds the CSP text anew each time, although with
 * static options (no per-request nonce) every answer gets the same headers; here helmet runs once
 * at start against a recorder, and each request gets the headers it recorded, in the same order.
 * Options with a function in a CSP directive are refused: they need helmet per request.
 */
export function securityHeaders(options: HelmetOptions): RequestHandler {
  const directives = typeof options.contentSecurityPolicy === 'object' ? options.contentSecurityPolicy.directives : undefined;
  if (Object.values(directives ?? {}).some((d) => typeof d === 'function' || (Array.isArray(d) && d.some((v) => typeof v === 'function'))))
    throw new Error('securityHeaders takes static options only; use helmet() for per-request directives');
  const set: [name: string, value: string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => void set.push([name, value]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let recorded = false;
  helmet(options)({} as Request, recorder as unknown as Response, (err?: unknown) => {
    if (err) throw err;
    recorded = true;
  });
  if (!recorded) throw new Error('helmet did not finish at once');
  return (_req, res, next) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}
