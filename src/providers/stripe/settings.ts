import { z } from 'zod';
import { setting } from '../../settings';
import { apiUrl, secretList, toleranceSeconds } from '../setting-types';

export const stripeSettings = {
  apiKey: setting('STRIPE_API_KEY', z.string().optional()),
  /** An origin: the stripe SDK takes host, port and protocol only. */
  apiUrl: setting(
    'STRIPE_API_URL',
    apiUrl('https://api.stripe.com').refine(
      (value) => ['', '/'].includes(new URL(value).pathname),
      'must be an origin without a path: the stripe SDK requests /v1/… at its root',
    ),
  ),
  webhookSecrets: setting('STRIPE_WEBHOOK_SECRET', secretList),
  signatureToleranceSeconds: setting('STRIPE_SIGNATURE_TOLERANCE_SECONDS', toleranceSeconds),
};
