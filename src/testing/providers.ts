import type { ProviderName } from '../core/events';
import { testing as billforward } from '../providers/billforward/testing';
import { testing as ccbill } from '../providers/ccbill/testing';
import { testing as gocardless } from '../providers/gocardless/testing';
import { testing as recurly } from '../providers/recurly/testing';
import { testing as stripe } from '../providers/stripe/testing';
import { providerNames, type ProviderSettings } from '../providers/registry';
import type { ProviderTesting } from './provider-testing';

/**
 * Every provider's testing half (`src/providers/<name>/testing/`): kept apart from the registry so
 * that production code never loads a stand-in; the compiler asks for one per registered provider.
 */
export const providerTesting = { gocardless, recurly, stripe, ccbill, billforward } satisfies { [Name in ProviderName]: ProviderTesting };

/** The testing halves in the registry's order. */
export const testingHalves = providerNames.map((name) => [name, providerTesting[name] as ProviderTesting] as const);

/**
 * `dev`'s stand-ins for webhooks: the variables that make a receiver loaded from `environment`
 * (whose config is `config`) also accept `billflow trigger`'s deliveries. Empty when nothing is missing.
 */
export function devWebhookStandIns(config: ProviderSettings, environment: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.assign({}, ...testingHalves.map(([name, testing]) => testing.devWebhookSettings(config[name], environment))) as Record<string, string>;
}
