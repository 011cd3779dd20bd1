import type { RouterMiddleware } from '@koa/router';
import type { AccountStore } from '../store/account-store';
import type { ProviderName } from '../core/events';
import { bearerGuard } from './bearer';
import { ReceiverError, type ReceiverState } from './errors';

/**
 * `GET /accounts/:provider/:customerId` — what the merchant's app asks before serving a customer:
 * the account's status, why and since when, its usage period and every change with its event.
 * The customer is the provider's id as billflow records it (GoCardless customer, Recurly account
 * code, Stripe customer, BillForward account, CCBill subscription). Two path segments rather than
 * one `provider:customer` id, so customer ids may hold any character (encoded).
 *
 * Guarded by `Authorization: Bearer <BILLFLOW_API_TOKEN>`. Fails closed: without a token or
 * without a store the route answers 503 and reveals nothing.
 */
export function accountLookup(options: { apiToken?: string; accounts?: AccountStore }): RouterMiddleware<ReceiverState> {
  const guard = options.apiToken ? bearerGuard(options.apiToken) : undefined;
  return async (ctx) => {
    if (!guard || !options.accounts) {
      throw new ReceiverError(503, guard ? 'account store not available in this process' : 'account API not configured: set BILLFLOW_API_TOKEN');
    }
    guard(ctx.get('Authorization'));
    // An unknown provider has no accounts either: one answer for both reveals nothing more.
    const account = await options.accounts.get((ctx.params.provider ?? '') as ProviderName, ctx.params.customerId ?? '');
    if (!account) throw new ReceiverError(404, 'no account recorded for this customer');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = account;
  };
}
