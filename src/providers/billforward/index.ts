import { defineProvider } from '../provider';
import { createBillForwardActivities } from './api';
import { billForwardBilling } from './billing';
import { billForwardEventLog } from './event-log';
import { billForwardSettings } from './settings';
import { billforward as webhook } from './webhook';

export const billforward = defineProvider({
  name: 'billforward',
  settings: billForwardSettings,
  webhook,
  createApi: ({ apiUrl, accessToken }, options) => createBillForwardActivities({ apiUrl, accessToken: accessToken ?? '', ...options }),
  billing: billForwardBilling,
  eventLog: {
    configured: ({ accessToken }) => Boolean(accessToken),
    create: ({ apiUrl, accessToken }, options) => billForwardEventLog({ apiUrl, accessToken: accessToken ?? '', ...options }),
  },
});
