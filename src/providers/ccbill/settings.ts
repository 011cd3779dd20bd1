import { z } from 'zod';
import { setting } from '../../settings';
import { apiUrl, ipList } from '../setting-types';
import { ccbillWebhookIps } from './webhook';

export const ccbillSettings = {
  datalinkUrl: setting('CCBILL_DATALINK_URL', apiUrl('https://datalink.ccbill.com/utils/subscriptionManagement.cgi')),
  datalinkUsername: setting('CCBILL_DATALINK_USERNAME', z.string().optional()),
  datalinkPassword: setting('CCBILL_DATALINK_PASSWORD', z.string().optional()),
  clientAccnum: setting('CCBILL_CLIENT_ACCNUM', z.string().regex(/^\d{6}$/, 'must be the 6-digit main account number').optional()),
  clientSubacc: setting('CCBILL_CLIENT_SUBACC', z.string().regex(/^\d{4}$/, 'must be the 4-digit sub-account number').optional()),
  /** CCBill sends no signature: deliveries are accepted from these addresses only. */
  allowedIps: setting('CCBILL_ALLOWED_IPS', ipList(ccbillWebhookIps)),
};
