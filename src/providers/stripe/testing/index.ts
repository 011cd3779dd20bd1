import { devWebhookSecret } from '../../../testing/dev-secrets';
import { defineProviderTesting } from '../../../testing/provider-testing';
import { StripeSandbox } from './sandbox';
import { stripeWebhooks } from './webhooks';

export const testing = defineProviderTesting({
  webhooks: stripeWebhooks,
  sandbox: {
    create: ({ accessToken }) => new StripeSandbox(accessToken),
    // The server's root: the stripe SDK requests `/v1/…` there (also served under `/stripe`).
    apiPath: '',
    settings: (_, { apiUrl, accessToken }) => ({ STRIPE_API_URL: apiUrl, STRIPE_API_KEY: accessToken }),
  },
  hasApiCredentials: (environment) => Boolean(environment.STRIPE_API_KEY),
  devWebhookSettings: (settings): Record<string, string> => (settings.webhookSecrets?.length ? {} : { STRIPE_WEBHOOK_SECRET: devWebhookSecret }),
});
