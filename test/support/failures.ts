import { ApplicationFailure } from '@temporalio/common';
import { expect } from 'vitest';

/** The failure a call rejected with; fails the test if it resolved or threw something else. */
export async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}
