import { defineProvider } from '../provider';
import { createGoCardlessActivities } from './api';
import { goCardlessBilling } from './billing';
import { goCardlessEventLog } from './event-log';
import { goCardlessSettings } from './settings';
import { gocardless as webhook } from './webhook';

export const gocardless = defineProvider({
  name: 'gocardless',
  settings: goCardlessSettings,
  webhook,
  createApi: ({ apiUrl, accessToken }, options) => createGoCardlessActivities({ apiUrl, accessToken: accessToken ?? '', ...options }),
  billing: goCardlessBilling,
  eventLog: {
    configured: ({ accessToken }) => Boolean(accessToken),
    create: ({ apiUrl, accessToken }, options) => goCardlessEventLog({ apiUrl, accessToken: accessToken ?? '', ...options }),
  },
});
