import { defineProvider } from '../provider';
import { createBillForwardActivities } from './api';
import { billForwardBilling } from './billing';
import { billForwardSettings } from './settings';
import { billforward as webhook } from './webhook';

export const billforward = defineProvider({
  name: 'billforward',
  settings: billForwardSettings,
  webhook,
  createApi: ({ apiUrl, accessToken }, options) => createBillForwardActivities({ apiUrl, accessToken: accessToken ?? '', ...options }),
  billing: billForwardBilling,
});
