import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import pino from 'pino';
import { accessLog } from '../../api/access-log';
import { securityHeaders } from '../../api/security-headers';
import { CSP_DIRECTIVES } from '../../api/web';

/** Answers one GET through `middleware` on a throwaway server; the headers and status it got. */
async function answer(middleware: RequestHandler, path = '/page', status = 200): Promise<Response> {
  const app = express();
  app.disable('x-powered-by');
  app.use(middleware);
  app.get('/page', (_req, res) => {
    res.status(status).json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, {
      headers: { authorization: 'Bearer secret' },
    });
    await res.text();
    return res;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const headersOf = (res: Response) => [...res.headers].filter(([name]) => name !== 'date' && name !== 'keep-alive');

describe('security headers worked out once', () => {
  it.each<[string, HelmetOptions]>([
    ['the API', { contentSecurityPolicy: { directives: CSP_DIRECTIVES } }],
    ['helmet defaults', {}],
    ['no CSP, no HSTS', { contentSecurityPolicy: false, strictTransportSecurity: false }],
  ])('answers with the same headers, in the same order, as helmet per request (%s)', async (_name, options) => {
    const ours = headersOf(await answer(securityHeaders(options)));
    const helmets = headersOf(await answer(helmet(options)));
    expect(ours).toEqual(helmets);
    expect(ours.map(([name]) => name)).toContain('x-content-type-options');
  });

  it('refuses a CSP directive computed per request', () => {
    expect(() =>
      securityHeaders({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", (_req, res) => `'nonce-${String(res)}'`] } } }),
    ).toThrow(/static options only/);
  });
});

describe('access log', () => {
  function capture(level: string) {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { logger, lines };
  }

  it('writes one line per answer with method, url, status and time, never the headers', async () => {
    const { logger, lines } = capture('info');
    await answer(
      accessLog(logger, () => false),
      '/page?x=1',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'GET', url: '/page?x=1' },
      res: { statusCode: 200 },
    });
    expect(typeof lines[0]!.responseTime).toBe('number');
    expect(JSON.stringify(lines[0])).not.toContain('secret');
  });

  it('logs a 5xx answer as an error even when info is off, and nothing for ignored paths', async () => {
    const { logger, lines } = capture('warn');
    await answer(
      accessLog(logger, () => false),
      '/page',
      503,
    );
    await answer(
      accessLog(logger, () => false),
      '/page',
      200,
    );
    await answer(
      accessLog(logger, (req) => req.url === '/page'),
      '/page',
      503,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: 'request errored', res: { statusCode: 503 } })]);
  });
});
