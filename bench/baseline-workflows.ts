// Baseline workflows for the benchmarks: the least work Temporal can do, measured beside ours.
import { condition, defineSignal, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

export const pingUpdate = defineUpdate<number, [number]>('ping');
export const stopSignal = defineSignal('stop');

/** Waits, answering `ping` updates at once, until `stop`. */
export async function waitingWorkflow(): Promise<void> {
  let stopped = false;
  setHandler(pingUpdate, (n) => n + 1);
  setHandler(stopSignal, () => {
    stopped = true;
  });
  await condition(() => stopped);
}

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** One no-op activity, then done. */
export async function trivialWorkflow(): Promise<void> {
  await noop();
}
