import { defineProvider } from '../provider';
import { createCCBillActivities } from './api';
import { ccbillBilling } from './billing';
import { ccbillSettings } from './settings';
import { ccbill as webhook } from './webhook';

export const ccbill = defineProvider({
  name: 'ccbill',
  settings: ccbillSettings,
  webhook,
  createApi: (settings, options) =>
    createCCBillActivities({
      datalinkUrl: settings.datalinkUrl,
      username: settings.datalinkUsername ?? '',
      password: settings.datalinkPassword ?? '',
      clientAccnum: settings.clientAccnum ?? '',
      clientSubacc: settings.clientSubacc,
      ...options,
    }),
  billing: ccbillBilling,
  runsOwnDunning: true,
});
