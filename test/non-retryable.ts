import { ApplicationFailure } from '@temporalio/common';

/** The non-retryable ApplicationFailure an activity call must fail with (the test fails otherwise). */
export async function nonRetryable(call: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).nonRetryable).toBe(true);
  return err as ApplicationFailure;
}
