import type { Request, RequestHandler } from 'express';
import type { Logger } from '../lib/logger';

/**
 * One log line per answered request, as pino-http wrote it: `{req: {method, url}, res:
 * {statusCode}, responseTime}` with "request completed" at info, or "request errored" at error
 * for a 5xx answer ("request aborted" when the client left before the answer was written). Never
 * headers: they carry bearer tokens.
 *
 * pino-http built a child logger per request (serialising the request into its bindings at once,
 * whatever the log level) and attached three listeners; on a polled list page that was about 4 %
 * of the API's CPU. This writes the same line from one `close` listener, and builds nothing when
 * neither level is enabled.
 */
export function accessLog(logger: Logger, ignore: (req: Request) => boolean): RequestHandler {
  return (req, res, next) => {
    if (ignore(req) || !logger.isLevelEnabled('error')) {
      next();
      return;
    }
    const started = Date.now();
    res.once('close', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const line = {
        req: { method: req.method, url: req.originalUrl },
        res: { statusCode: status },
        responseTime: Date.now() - started,
      };
      if (!res.writableFinished) logger.info(line, 'request aborted');
      else if (level === 'error') logger.error(line, 'request errored');
      else logger.info(line, 'request completed');
    });
    next();
  };
}
