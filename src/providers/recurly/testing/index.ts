import { devWebhookSecret } from '../../../testing/dev-secrets';
import { defineProviderTesting } from '../../../testing/provider-testing';
import { RecurlySandbox } from './sandbox';
import { recurlyWebhooks } from './webhooks';

export const testing = defineProviderTesting({
  webhooks: recurlyWebhooks,
  sandbox: {
    create: ({ accessToken }) => new RecurlySandbox(accessToken),
    apiPath: '/recurly',
    settings: (_, { apiUrl, accessToken }) => ({ RECURLY_API_URL: apiUrl, RECURLY_API_KEY: accessToken }),
  },
  hasApiCredentials: (environment) => Boolean(environment.RECURLY_API_KEY),
  devWebhookSettings: (settings): Record<string, string> => (settings.webhookSecrets?.length ? {} : { RECURLY_WEBHOOK_SECRET: devWebhookSecret }),
});
