import type { Config } from '../config';
import type { BillingEvent, ProviderName } from '../events';
import { gocardless } from './gocardless';
import type { WebhookProvider, WebhookRequest } from './types';

/** A provider with its settings already taken from the config: what the receiver works with. */
export interface RegisteredProvider {
  name: ProviderName;
  verify(request: WebhookRequest, config: Config, now?: Date): void;
  parse(request: WebhookRequest): BillingEvent[];
}

function register<Settings>(provider: WebhookProvider<Settings>, settingsOf: (config: Config) => Settings): RegisteredProvider {
  return {
    name: provider.name,
    verify: (request, config, now) => provider.verify(request, settingsOf(config), now),
    parse: (request) => provider.parse(request),
  };
}

/** Keyed by the name in the webhook URL, `/webhooks/<name>`. */
const registry = new Map<string, RegisteredProvider>(
  [register(gocardless, (config) => config.gocardless)].map((provider) => [provider.name, provider]),
);

export const providerNames: readonly ProviderName[] = [...registry.values()].map((provider) => provider.name);

export function findProvider(urlName: string): RegisteredProvider | undefined {
  return registry.get(urlName);
}
