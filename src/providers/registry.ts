import type { BillingApi } from '../core/billing';
import type { ProviderName } from '../core/events';
import type { SettingsOf } from '../settings';
import { billforward } from './billforward';
import { ccbill } from './ccbill';
import { gocardless } from './gocardless';
import type { ApiClientOptions } from './provider';
import { recurly } from './recurly';
import { stripe } from './stripe';

/**
 * Every provider billflow supports, once. Adding one is a folder `src/providers/<name>/` (see any
 * of these) and a line here; the compiler then asks for its name in `ProviderName`.
 */
export const providers = { gocardless, recurly, stripe, ccbill, billforward } as const satisfies { [Name in ProviderName]: { name: Name } };

type Providers = typeof providers;

export const providerNames = Object.keys(providers) as ProviderName[];

/** The providers that run their own dunning: billflow's default for `BILLFLOW_PROVIDER_MANAGED_DUNNING`. */
export const providersRunningOwnDunning: ProviderName[] = providerNames.filter((name) => (providers[name] as { runsOwnDunning?: boolean }).runsOwnDunning).sort();

/** Each provider's loaded settings, keyed by its name: the provider part of the config. */
export type ProviderSettings = { [Name in ProviderName]: SettingsOf<Providers[Name]['settings']> };

/** The settings trees of every provider, for the config to read. */
export const providerSettingsTrees = Object.fromEntries(providerNames.map((name) => [name, providers[name].settings])) as {
  [Name in ProviderName]: Providers[Name]['settings'];
};

export type ProviderApis = { [Name in ProviderName]: ReturnType<Providers[Name]['createApi']> };

/** Every provider's API client, from its settings: the activities the worker registers by name. */
export function createProviderApis(settings: ProviderSettings, options: ApiClientOptions = {}): ProviderApis {
  const create = <Name extends ProviderName>(name: Name) =>
    (providers[name].createApi as (settings: ProviderSettings[Name], options: ApiClientOptions) => ProviderApis[Name])(settings[name], options);
  return Object.fromEntries(providerNames.map((name) => [name, create(name)])) as ProviderApis;
}

/** Every provider's implementation of the provider-neutral billing calls, on its API client. */
export function createProviderBilling(apis: ProviderApis): Record<ProviderName, BillingApi> {
  const billingOf = <Name extends ProviderName>(name: Name) => (providers[name].billing as (api: ProviderApis[Name]) => BillingApi)(apis[name]);
  return Object.fromEntries(providerNames.map((name) => [name, billingOf(name)])) as Record<ProviderName, BillingApi>;
}
