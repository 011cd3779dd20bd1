import { devWebhookSecret } from '../../../testing/dev-secrets';
import { defineProviderTesting } from '../../../testing/provider-testing';
import { BillForwardSandbox } from './sandbox';
import { billforwardWebhooks } from './webhooks';

export const testing = defineProviderTesting({
  webhooks: billforwardWebhooks,
  sandbox: {
    create: ({ accessToken }) => new BillForwardSandbox(accessToken),
    apiPath: '/billforward',
    settings: (_, { apiUrl, accessToken }) => ({ BILLFORWARD_API_URL: apiUrl, BILLFORWARD_ACCESS_TOKEN: accessToken }),
  },
  hasApiCredentials: (environment) => Boolean(environment.BILLFORWARD_ACCESS_TOKEN),
  devWebhookSettings: (settings): Record<string, string> => (settings.basicAuth?.length ? {} : { BILLFORWARD_WEBHOOK_BASIC_AUTH: `billflow:${devWebhookSecret}` }),
});
