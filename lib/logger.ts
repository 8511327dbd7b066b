import pino, { type Logger } from 'pino';

export type { Logger };

/** The one structured logger of a process; `name` says which process or module wrote a line. */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  // LOG_PRETTY=1 (set by `npm run dev`) prints readable lines instead of JSON.
  const transport = process.env.LOG_PRETTY === '1' ? { target: 'pino-pretty', options: { ignore: 'pid,hostname' } } : undefined;
  return pino({ name, level, base: { pid: process.pid }, ...(transport ? { transport } : {}) });
}
