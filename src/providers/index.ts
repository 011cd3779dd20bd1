import type { Config } from '../config';
import type { BillingEvent, ProviderName } from '../core/events';
import { billforward } from './billforward/webhook';
import { ccbill } from './ccbill/webhook';
import { gocardless } from './gocardless/webhook';
import { recurly } from './recurly/webhook';
import { stripe } from './stripe/webhook';
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
    // BILLFLOW_INSECURE_ALLOW_UNVERIFIED opens a provider for local development: nothing is checked.
    verify: (request, config, now) => {
      if (!config.insecureAllowUnverified.includes(provider.name)) provider.verify(request, settingsOf(config), now);
    },
    parse: (request) => provider.parse(request),
  };
}

/** Keyed by the name in the webhook URL, `/webhooks/<name>`. */
const registry = new Map<string, RegisteredProvider>(
  [
    register(gocardless, (config) => config.gocardless),
    register(recurly, (config) => config.recurly),
    register(stripe, (config) => config.stripe),
    register(ccbill, (config) => config.ccbill),
    register(billforward, (config) => config.billforward),
  ].map((provider) => [provider.name, provider]),
);

export const providerNames: readonly ProviderName[] = [...registry.values()].map((provider) => provider.name);

export function findProvider(urlName: string): RegisteredProvider | undefined {
  return registry.get(urlName);
}
