import type { AccountStore } from '../src/store/account-store';
import { createAccountActivities } from './accounts';
import { createBillForwardActivities } from '../src/providers/billforward/api';
import { createBillingActivities } from './billing';
import { createCCBillActivities } from '../src/providers/ccbill/api';
import { createForwardingActivities } from './forwarding';
import { createGoCardlessActivities, type GoCardlessOptions } from '../src/providers/gocardless/api';
import { createRecurlyActivities } from '../src/providers/recurly/api';
import { createStripeActivities } from '../src/providers/stripe/api';

export interface ActivityDependencies {
  store: AccountStore;
  /** Without an access token the GoCardless activities fail (non-retryable) and the rest keep working. */
  gocardless: Omit<GoCardlessOptions, 'accessToken'> & { accessToken?: string };
  /** The other providers' APIs (the config's `recurly`, `stripe`, … fit); one left out fails its calls the same way. */
  providerApis?: ProviderApiSettings;
}

export interface ProviderApiSettings {
  recurly?: { apiKey?: string; apiUrl?: string };
  stripe?: { apiKey?: string; apiUrl?: string };
  billforward?: { accessToken?: string; apiUrl?: string };
  ccbill?: { datalinkUrl?: string; datalinkUsername?: string; datalinkPassword?: string; clientAccnum?: string; clientSubacc?: string };
}

/** Every activity the worker registers; workflows import only the `Activities` type. */
export function createActivities(deps: ActivityDependencies) {
  const apis = deps.providerApis ?? {};
  const clients = {
    gocardless: createGoCardlessActivities({ ...deps.gocardless, accessToken: deps.gocardless.accessToken ?? '' }),
    recurly: createRecurlyActivities({ apiUrl: apis.recurly?.apiUrl ?? 'https://v3.recurly.com', apiKey: apis.recurly?.apiKey ?? '' }),
    stripe: createStripeActivities({ apiUrl: apis.stripe?.apiUrl ?? 'https://api.stripe.com', apiKey: apis.stripe?.apiKey ?? '' }),
    billforward: createBillForwardActivities({
      apiUrl: apis.billforward?.apiUrl ?? 'https://api-sandbox.billforward.net/v1',
      accessToken: apis.billforward?.accessToken ?? '',
    }),
    ccbill: createCCBillActivities({
      datalinkUrl: apis.ccbill?.datalinkUrl ?? 'https://datalink.ccbill.com/utils/subscriptionManagement.cgi',
      username: apis.ccbill?.datalinkUsername ?? '',
      password: apis.ccbill?.datalinkPassword ?? '',
      clientAccnum: apis.ccbill?.clientAccnum ?? '',
      clientSubacc: apis.ccbill?.clientSubacc,
    }),
  };
  return {
    ...createAccountActivities(deps.store),
    ...clients.gocardless,
    ...clients.recurly,
    ...clients.stripe,
    ...clients.billforward,
    ...clients.ccbill,
    ...createBillingActivities(clients),
    // The resolver workflow's signal-with-start, through the worker's own Temporal client.
    ...createForwardingActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
