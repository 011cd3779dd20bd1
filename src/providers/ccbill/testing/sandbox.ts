import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { DAY_MS, type AttemptOutcome } from '../../../testing/sandbox/common';
import { addCollectionRoutes, addRenewRoute } from '../../../testing/sandbox/control-routes';
import { providerApi, type SandboxPlumbing } from '../../../testing/sandbox/provider-api';

/*
 * A stand-in for CCBill DataLink's subscriptionManagement.cgi: one GET with the merchant's
 * credentials and an `action` in the query string, answered in XML (`returnXML=1`) or as two CSV
 * lines, errors as a negative `results` code in an HTTP 200. Subscriptions renew (or fail to, and
 * CCBill retries them itself) and expire on command. No idempotency: a second cancel fails (0).
 */

export const DATALINK_PATH = '/utils/subscriptionManagement.cgi';

/** DataLink's codes: 2 active, 1 cancelled (runs to its expiration date), 0 inactive. */
export type CCBillStatusCode = 0 | 1 | 2;

export interface CCBillSubscriptionRecord {
  id: string;
  statusCode: CCBillStatusCode;
  signupDate: string;
  cancelDate: string;
  expirationDate: string;
  nextRenewalDate: string;
  timesRebilled: number;
  /** Renewals CCBill failed to charge and will retry on its own. */
  failedRebills: number;
}

export interface CCBillCredentials {
  clientAccnum: string;
  clientSubacc: string;
  username: string;
  password: string;
}

export const ccbillSubscriptionSeed = z.object({
  id: z.string().regex(/^\d+$/, 'CCBill subscription ids are numeric').optional(),
  statusCode: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(2),
});
export type CCBillSubscriptionSeed = z.input<typeof ccbillSubscriptionSeed>;

export class CCBillSandbox {
  /** @param credentials what DataLink accepts: account, sub-account, user and password */
  constructor(readonly credentials: CCBillCredentials) {}

  readonly subscriptions = new Map<string, CCBillSubscriptionRecord>();
  private nextId = 1000000001;

  seedSubscription(seed: CCBillSubscriptionSeed): CCBillSubscriptionRecord {
    const fields = ccbillSubscriptionSeed.parse(seed);
    const id = fields.id ?? `0${this.nextId++}`;
    const now = Date.now();
    const subscription: CCBillSubscriptionRecord = {
      id,
      statusCode: fields.statusCode,
      signupDate: ymd(now),
      cancelDate: fields.statusCode === 2 ? '' : ymd(now),
      expirationDate: ymd(now + 30 * DAY_MS),
      nextRenewalDate: fields.statusCode === 2 ? ymd(now + 30 * DAY_MS) : '',
      timesRebilled: 0,
      failedRebills: 0,
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /** The rebill date: a cancelled subscription expires; an active one rebills, or fails to. */
  renew(id: string, outcome: AttemptOutcome): CCBillSubscriptionRecord {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new Error(`no sandbox CCBill subscription ${id}`);
    if (subscription.statusCode === 1) {
      subscription.statusCode = 0;
      return subscription;
    }
    if (subscription.statusCode === 0) throw new Error('an inactive subscription does not renew');
    if (outcome === 'decline') {
      subscription.failedRebills += 1;
      return subscription;
    }
    const next = Date.parse(`${subscription.expirationDate.slice(0, 4)}-${subscription.expirationDate.slice(4, 6)}-${subscription.expirationDate.slice(6, 8)}T00:00:00Z`) + 30 * DAY_MS;
    subscription.timesRebilled += 1;
    subscription.expirationDate = ymd(next);
    subscription.nextRenewalDate = ymd(next);
    return subscription;
  }

  reset(): void {
    this.subscriptions.clear();
  }

  /** DataLink under `/ccbill`: recorded, then faulted, then answered like the CGI script. */
  api(options: SandboxPlumbing): Router {
    return providerApi(options, { name: 'ccbill', renderFault, notFound }, (router) => {
      router.get(DATALINK_PATH, (ctx) => {
        const query = (name: string) => (typeof ctx.query[name] === 'string' ? ctx.query[name] : '');
        const answer = (result: Record<string, string | number> | number) => render(ctx, result, query('returnXML') === '1');
        const { clientAccnum, username, password } = this.credentials;
        if (query('clientAccnum') !== clientAccnum || query('username') !== username || query('password') !== password) return answer(-1);
        const subacc = query('usingSubacc') || query('clientSubacc');
        if (subacc && subacc !== this.credentials.clientSubacc) return answer(-4);
        const subscriptionId = query('subscriptionId');
        if (!/^\d+$/.test(subscriptionId)) return answer(-5);
        const subscription = this.subscriptions.get(subscriptionId);
        switch (query('action')) {
          case 'viewSubscriptionStatus':
            if (!subscription) return answer(-3);
            return answer({
              cancelDate: subscription.cancelDate,
              chargebacksIssued: 0,
              expirationDate: subscription.expirationDate,
              lastRenewalDate: subscription.timesRebilled > 0 ? subscription.signupDate : '',
              nextRenewalDate: subscription.nextRenewalDate,
              recurringSubscription: 1,
              refundsIssued: 0,
              signupDate: subscription.signupDate,
              subscriptionStatus: subscription.statusCode,
              timesRebilled: subscription.timesRebilled,
              voidsIssued: 0,
            });
          case 'cancelSubscription':
            if (!subscription) return answer(-3);
            if (subscription.statusCode !== 2) return answer(0);
            subscription.statusCode = 1;
            subscription.cancelDate = ymd(Date.now());
            subscription.nextRenewalDate = '';
            return answer(1);
          default:
            return answer(-6);
        }
      });
    });
  }

  /** Seeding and inspection under `/_sandbox/ccbill`. */
  control(): Router {
    const router = new Router({ prefix: '/ccbill' });
    addCollectionRoutes(router, 'subscriptions', {
      records: this.subscriptions,
      seed: { schema: ccbillSubscriptionSeed, create: (fields) => this.seedSubscription(fields) },
      change: { schema: z.object({ statusCode: z.union([z.literal(0), z.literal(1), z.literal(2)]) }), noun: 'CCBill subscription' },
    });
    addRenewRoute(router, (id, outcome) => this.renew(id, outcome));
    return router;
  }
}

function ymd(time: number): string {
  return new Date(time).toISOString().slice(0, 10).replace(/-/g, '');
}

/** XML as `returnXML=1` asks, else DataLink's two CSV lines of quoted names and values. */
function render(ctx: Context, result: Record<string, string | number> | number, asXml: boolean): void {
  ctx.status = 200;
  if (asXml) {
    ctx.type = 'text/xml';
    const inner = typeof result === 'number' ? String(result) : Object.entries(result).map(([name, value]) => `<${name}>${value}</${name}>`).join('');
    ctx.body = `<?xml version='1.0' standalone='yes'?>\n<results>${inner}</results>\n`;
    return;
  }
  ctx.type = 'text/plain';
  const fields = typeof result === 'number' ? { results: result } : result;
  const row = (cells: (string | number)[]) => cells.map((cell) => `"${cell}"`).join(',');
  ctx.body = `${row(Object.keys(fields))}\n${row(Object.values(fields))}\n`;
}

function notFound(ctx: Context): void {
  ctx.status = 404;
  ctx.type = 'text/html';
  ctx.body = '<html><body><h1>Not Found</h1></body></html>';
}

function renderFault(ctx: Context, status: number): void {
  ctx.status = status;
  ctx.type = 'text/html';
  ctx.body = status === 429 ? '<html><body>Too Many Requests</body></html>' : '<html><body>Service Unavailable</body></html>';
}
