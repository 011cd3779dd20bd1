import type { Config } from '../src/config';
import { createProviderApis, createProviderBilling, type ProviderSettings } from '../src/providers/registry';
import type { AccountStore } from '../src/store/account-store';
import { DeadLetterStore } from '../src/store/dead-letter-store';
import { createAccountActivities } from './accounts';
import { createBillingActivities } from './billing';
import { createDeadLetterActivities } from './dead-letters';
import { createForwardingActivities } from './forwarding';

export interface ActivityDependencies {
  store: AccountStore;
  /** Where workflows keep what they could not act on; by default beside the accounts, kept 30 days. */
  deadLetters?: DeadLetterStore;
  /**
   * Each provider's settings (a loaded `Config` fits). A provider without API credentials fails its
   * calls (non-retryable) and the rest keep working.
   */
  providers: ProviderSettings | Config;
  /** Per HTTP call to a provider; keep it under the activities' start-to-close timeout (10 s by default). */
  apiTimeoutMs?: number;
}

/** Every activity the worker registers; workflows import only the `Activities` type. */
export function createActivities(deps: ActivityDependencies) {
  const apis = createProviderApis(deps.providers, deps.apiTimeoutMs ? { timeoutMs: deps.apiTimeoutMs } : {});
  return {
    ...createAccountActivities(deps.store),
    ...createDeadLetterActivities(deps.deadLetters ?? new DeadLetterStore(deps.store.database)),
    // Each API client's own calls, under their own names (e.g. `getGoCardlessMandate`).
    ...apis.gocardless,
    ...apis.recurly,
    ...apis.stripe,
    ...apis.billforward,
    ...apis.ccbill,
    ...createBillingActivities(createProviderBilling(apis)),
    // The resolver workflow's signal-with-start, through the worker's own Temporal client.
    ...createForwardingActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
