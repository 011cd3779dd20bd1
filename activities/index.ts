import type { AccountStore } from './account-store';
import { createAccountActivities } from './accounts';
import { createGoCardlessActivities, type GoCardlessOptions } from './gocardless';

export interface ActivityDependencies {
  store: AccountStore;
  /** Without an access token the GoCardless activities fail (non-retryable) and the rest keep working. */
  gocardless: Omit<GoCardlessOptions, 'accessToken'> & { accessToken?: string };
}

/** Every activity the worker registers; workflows import only the `Activities` type. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createAccountActivities(deps.store),
    ...createGoCardlessActivities({ ...deps.gocardless, accessToken: deps.gocardless.accessToken ?? '' }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
