import { devWebhookSecret } from '../../../testing/dev-secrets';
import { defineProviderTesting } from '../../../testing/provider-testing';
import { GoCardlessSandbox } from './sandbox';
import { gocardlessWebhooks } from './webhooks';

export const testing = defineProviderTesting({
  webhooks: gocardlessWebhooks,
  sandbox: {
    create: ({ accessToken }) => new GoCardlessSandbox(accessToken),
    // The client appends `/mandates/…` to it.
    apiPath: '/gocardless',
    settings: (_, { apiUrl, accessToken }) => ({ GOCARDLESS_API_URL: apiUrl, GOCARDLESS_ACCESS_TOKEN: accessToken }),
  },
  hasApiCredentials: (environment) => Boolean(environment.GOCARDLESS_ACCESS_TOKEN),
  devWebhookSettings: (settings): Record<string, string> => (settings.webhookSecrets?.length ? {} : { GOCARDLESS_WEBHOOK_SECRET: devWebhookSecret }),
});
