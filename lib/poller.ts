/** A loop beside the worker that does a round of work, then waits, until stopped. */
import type { Logger } from './logger';

export interface Poller {
  /** One round now; resolves with what it did. */
  runOnce(): Promise<number>;
  /** Stops after the round under way. */
  stop(): Promise<void>;
}

export function startPoller(opts: { what: string; log: Logger; intervalMs: number; round: () => Promise<number> }): Poller {
  let stopped = false;
  let running: Promise<number> = Promise.resolve(0);
  let wake: (() => void) | undefined;
  const loop = async () => {
    while (!stopped) {
      running = opts.round().catch((err: unknown) => {
        opts.log.warn({ err }, `${opts.what}: not possible just now`);
        return 0;
      });
      await running;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, opts.intervalMs).unref();
      });
    }
  };
  void loop();
  return {
    runOnce: opts.round,
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
