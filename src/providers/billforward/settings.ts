import { z } from 'zod';
import { setting } from '../../settings';
import { apiUrl, credentialList } from '../setting-types';

export const billForwardSettings = {
  accessToken: setting('BILLFORWARD_ACCESS_TOKEN', z.string().optional()),
  apiUrl: setting('BILLFORWARD_API_URL', apiUrl('https://api-sandbox.billforward.net/v1')),
  /** HTTP Basic credentials, given to BillForward inside the webhook URL. */
  basicAuth: setting('BILLFORWARD_WEBHOOK_BASIC_AUTH', credentialList),
};
