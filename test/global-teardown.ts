type Stop = () => Promise<void>;
const g = globalThis as typeof globalThis & { __invoiceflowTeardown?: Stop[] };

/** Stops what global-setup started, the database drop first, the servers after. */
export default async function globalTeardown(): Promise<void> {
  for (const stop of g.__invoiceflowTeardown ?? []) {
    await stop().catch((err: unknown) => process.stderr.write(`teardown: ${String(err)}\n`));
  }
}
