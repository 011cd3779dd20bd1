import { z } from 'zod';
import { setting } from '../../settings';
import { apiUrl, secretList } from '../setting-types';

export const goCardlessSettings = {
  webhookSecrets: setting('GOCARDLESS_WEBHOOK_SECRET', secretList),
  /** Unset, the GoCardless activities fail (non-retryable) and the rest keep working. */
  accessToken: setting('GOCARDLESS_ACCESS_TOKEN', z.string().optional()),
  apiUrl: setting('GOCARDLESS_API_URL', apiUrl('https://api-sandbox.gocardless.com')),
};
