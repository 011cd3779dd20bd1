import type { Config } from '../src/config';
import type { BillingEvent } from '../src/core/events';
import type { WorkflowRoute } from '../src/core/routes';
import { createProviderApis, createProviderBilling, type ProviderSettings } from '../src/providers/registry';
import type { AccountStore } from '../src/store/account-store';
import { DeadLetterStore } from '../src/store/dead-letter-store';
import { createAccountActivities } from './accounts';
import { createBillingActivities } from './billing';
import { createCatchUpActivities } from './catch-up';
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
  /**
   * The workflows an event goes to, for catch-up: `routeEvents` with the worker's settings (and your
   * routes), as `createBillflowActivities` gives it. Without it, catch-up fails and nothing else does.
   */
  route?: (event: BillingEvent) => WorkflowRoute[];
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
    // Catch-up from the providers' event lists (workflows/catch-up.ts).
    ...createCatchUpActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
