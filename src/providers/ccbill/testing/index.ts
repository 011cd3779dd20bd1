import { defineProviderTesting } from '../../../testing/provider-testing';
import { CCBillSandbox, DATALINK_PATH } from './sandbox';
import { ccbillWebhooks } from './webhooks';

export const testing = defineProviderTesting({
  webhooks: ccbillWebhooks,
  sandbox: {
    create: ({ accessToken }) => new CCBillSandbox({ clientAccnum: '900000', clientSubacc: '0000', username: 'billflow-sandbox', password: accessToken }),
    // The whole script URL, like DataLink's.
    apiPath: `/ccbill${DATALINK_PATH}`,
    settings: ({ credentials }, { apiUrl }) => ({
      CCBILL_DATALINK_URL: apiUrl,
      CCBILL_DATALINK_USERNAME: credentials.username,
      CCBILL_DATALINK_PASSWORD: credentials.password,
      CCBILL_CLIENT_ACCNUM: credentials.clientAccnum,
      CCBILL_CLIENT_SUBACC: credentials.clientSubacc,
    }),
  },
  hasApiCredentials: (environment) => Boolean(environment.CCBILL_DATALINK_USERNAME || environment.CCBILL_DATALINK_PASSWORD),
  // CCBill signs nothing: dev accepts its deliveries from this machine too, beside CCBill's published
  // addresses — unless the operator chose the addresses, which dev then leaves as they are.
  devWebhookSettings: ({ allowedIps = [] }, environment): Record<string, string> => {
    if (environment.CCBILL_ALLOWED_IPS) return {};
    const loopback = ['127.0.0.1', '::1'].filter((ip) => !allowedIps.includes(ip));
    return loopback.length > 0 ? { CCBILL_ALLOWED_IPS: [...allowedIps, ...loopback].join(',') } : {};
  },
});
