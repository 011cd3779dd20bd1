import type { BillingApi } from '../core/billing';
import type { ProviderName } from '../core/events';
import type { SettingsOf, SettingsTree } from '../settings';
import type { WebhookProvider } from './types';

/** What the API clients share, whatever the provider: the deadline of one HTTP call. */
export interface ApiClientOptions {
  /** Per HTTP call; keep it under the activity's start-to-close timeout. */
  timeoutMs?: number;
}

/**
 * Everything billflow knows of one provider, found in its folder `src/providers/<name>/`. The
 * registry (`./registry.ts`) lists one of these per provider.
 */
export interface ProviderDefinition<Name extends ProviderName, Tree extends SettingsTree, Api extends object> {
  name: Name;
  /** Its environment variables: webhook secrets, API credentials and URLs. */
  settings: Tree;
  /** Verification on the raw bytes, and parsing into `BillingEvent`s. */
  webhook: WebhookProvider<SettingsOf<Tree>>;
  /** Its API client: activities registered under their own names (e.g. `getGoCardlessMandate`). */
  createApi(settings: SettingsOf<Tree>, options?: ApiClientOptions): Api;
  /** Its answers to the provider-neutral billing calls workflows make, built on its API client. */
  billing(api: Api): BillingApi;
  /**
   * True where the provider runs the dunning itself and billflow should not retry payments unless
   * told otherwise (`BILLFLOW_PROVIDER_MANAGED_DUNNING`): CCBill has no retry API; Recurly runs a
   * dunning campaign on every site and its JSON notifications do not say whether it will retry.
   */
  runsOwnDunning?: boolean;
  /**
   * The provider's own list of what happened, read by catch-up (`src/catch-up/`) to recover the
   * events whose webhooks never arrived; absent where the provider has none (the README says why).
   */
  eventLog?: {
    /** Whether the settings hold what reading it takes (the API credentials). */
    configured(settings: SettingsOf<Tree>): boolean;
    create(settings: SettingsOf<Tree>, options?: ApiClientOptions): ProviderEventLog;
  };
}

/** One event as the provider's event list gives it, made into the body its webhook would carry. */
export interface LoggedEvent {
  /** The provider's event id: the one its webhook carries. */
  id: string;
  /** When the provider says it happened (ms since the epoch): what the cursor follows. */
  createdAtMs: number;
  /** The webhook body this event would have come in, for the provider's own parser. */
  body: string;
  /** Headers its webhook would carry beside the body, where the parser reads the event's id there (Recurly). */
  headers?: Record<string, string>;
  /** A record's state made into an event (Recurly), not an event the provider listed: its webhook had another id. */
  fromState?: boolean;
}

export interface ProviderEventLog {
  /** Every event created at or after `since`, oldest first, bounded by the provider's own retention. */
  since(since: Date): Promise<LoggedEvent[]>;
}

/** Checks a definition's parts against each other and keeps its precise types for the registry. */
export function defineProvider<Name extends ProviderName, Tree extends SettingsTree, Api extends object>(
  definition: ProviderDefinition<Name, Tree, Api>,
): ProviderDefinition<Name, Tree, Api> {
  return definition;
}
