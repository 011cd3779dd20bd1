import { defineProvider } from '../provider';
import { createRecurlyActivities } from './api';
import { recurlyBilling } from './billing';
import { recurlyEventLog } from './event-log';
import { recurlySettings } from './settings';
import { recurly as webhook } from './webhook';

export const recurly = defineProvider({
  name: 'recurly',
  settings: recurlySettings,
  webhook,
  createApi: ({ apiUrl, apiKey }, options) => createRecurlyActivities({ apiUrl, apiKey: apiKey ?? '', ...options }),
  billing: recurlyBilling,
  runsOwnDunning: true,
  eventLog: {
    configured: ({ apiKey }) => Boolean(apiKey),
    create: ({ apiUrl, apiKey }, options) => recurlyEventLog({ apiUrl, apiKey: apiKey ?? '', ...options }),
  },
});
