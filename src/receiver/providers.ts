import type { Config } from '../config';
import type { BillingEvent, ProviderName } from '../core/events';
import { providerNames, providers } from '../providers/registry';
import type { WebhookProvider, WebhookRequest } from '../providers/types';

/** A provider with its settings already taken from the config: what the receiver works with. */
export interface RegisteredProvider {
  name: ProviderName;
  verify(request: WebhookRequest, config: Config, now?: Date): void;
  parse(request: WebhookRequest): BillingEvent[];
  /** What a verified delivery no workflow takes is answered. */
  unroutedStatus: 200 | 204;
}

function register<Name extends ProviderName>(name: Name): RegisteredProvider {
  const webhook = providers[name].webhook as WebhookProvider<Config[Name]>;
  return {
    name,
    // BILLFLOW_INSECURE_ALLOW_UNVERIFIED opens a provider for local development: nothing is checked.
    verify: (request, config, now) => {
      if (!config.insecureAllowUnverified.includes(name)) webhook.verify(request, config[name], now);
    },
    parse: (request) => webhook.parse(request),
    unroutedStatus: webhook.unroutedStatus ?? 204,
  };
}

/** Keyed by the name in the webhook URL, `/webhooks/<name>`. */
const webhookProviders = new Map<string, RegisteredProvider>(providerNames.map((name) => [name, register(name)]));

export function findProvider(urlName: string): RegisteredProvider | undefined {
  return webhookProviders.get(urlName);
}
