import { defineProvider } from '../provider';
import { createStripeActivities } from './api';
import { stripeBilling } from './billing';
import { stripeEventLog } from './event-log';
import { stripeSettings } from './settings';
import { stripe as webhook } from './webhook';

export const stripe = defineProvider({
  name: 'stripe',
  settings: stripeSettings,
  webhook,
  createApi: ({ apiUrl, apiKey }, options) => createStripeActivities({ apiUrl, apiKey: apiKey ?? '', ...options }),
  billing: stripeBilling,
  eventLog: {
    configured: ({ apiKey }) => Boolean(apiKey),
    create: ({ apiUrl, apiKey }, options) => stripeEventLog({ apiUrl, apiKey: apiKey ?? '', ...options }),
  },
});
