import { z } from 'zod';
import { setting } from '../../settings';
import { apiUrl, credentialList, ipList, secretList, toleranceSeconds } from '../setting-types';
import { recurlyWebhookIps } from './webhook';

export const recurlySettings = {
  /** Private API key for the activities; unset, their Recurly calls fail (non-retryable). */
  apiKey: setting('RECURLY_API_KEY', z.string().optional()),
  apiUrl: setting('RECURLY_API_URL', apiUrl('https://v3.recurly.com')),
  webhookSecrets: setting('RECURLY_WEBHOOK_SECRET', secretList),
  signatureToleranceSeconds: setting('RECURLY_SIGNATURE_TOLERANCE_SECONDS', toleranceSeconds),
  /** XML notifications: HTTP Basic credentials, after the source address. */
  basicAuth: setting('RECURLY_WEBHOOK_BASIC_AUTH', credentialList),
  allowedIps: setting('RECURLY_ALLOWED_IPS', ipList(recurlyWebhookIps)),
};
