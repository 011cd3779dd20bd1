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
  // The XML endpoints too, for `trigger`'s XML notifications: Basic credentials billflow:<the JSON
  // secret>, and this machine beside Recurly's addresses — unless the operator chose them.
  devWebhookSettings: (settings, environment): Record<string, string> => {
    const secret = settings.webhookSecrets?.[0] ?? devWebhookSecret;
    const loopback = ['127.0.0.1', '::1'].filter((ip) => !(settings.allowedIps ?? []).includes(ip));
    return {
      ...(settings.webhookSecrets?.length ? {} : { RECURLY_WEBHOOK_SECRET: devWebhookSecret }),
      ...(settings.basicAuth?.length ? {} : { RECURLY_WEBHOOK_BASIC_AUTH: `billflow:${secret}` }),
      ...(environment.RECURLY_ALLOWED_IPS || loopback.length === 0 ? {} : { RECURLY_ALLOWED_IPS: [...(settings.allowedIps ?? []), ...loopback].join(',') }),
    };
  },
});
