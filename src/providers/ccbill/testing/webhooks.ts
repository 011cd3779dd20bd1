import { digitsId } from '../../../testing/webhooks/ids';
import type { SandboxControl, TriggerReferences, WebhookTemplate } from '../../../testing/webhooks/types';
import { ccbillUtcOffset } from '../webhook';

type Fields = Record<string, string>;

const card = { cardType: 'VISA', paymentType: 'CREDIT', last4: '6194', expDate: '0330' };
const money = { accountingAmount: '9.99', accountingCurrency: 'USD', billedAmount: '9.99', billedCurrency: 'USD' };

const date = (now: Date, days = 0) => new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);

/** Fields of each event's body as CCBill's Webhooks send them (the event type goes in the query string). */
const bodies: Record<string, (references: TriggerReferences, now: Date) => Fields> = {
  NewSaleSuccess: (references, now) => ({ ...money, ...card, transactionId: references.payment ?? '', nextRenewalDate: date(now, 30), email: 'jenny.rosen@example.com', username: references.customer ?? '' }),
  RenewalSuccess: (references, now) => ({ ...money, ...card, transactionId: references.payment ?? '', renewalDate: date(now), nextRenewalDate: date(now, 30) }),
  RenewalFailure: (references, now) => ({ transactionId: references.payment ?? '', failureCode: 'D05', failureReason: 'Card Expired', nextRetryDate: date(now, 3) }),
  Cancellation: () => ({ reason: 'Customer request', source: 'webAdmin' }),
  Expiration: () => ({}),
  UserReactivation: (_references, now) => ({ ...money, nextRenewalDate: date(now, 30) }),
  Chargeback: (references) => ({ ...money, ...card, transactionId: references.payment ?? '', reason: 'Fraud' }),
  Return: (references) => ({ ...money, transactionId: references.payment ?? '', reason: 'Insufficient funds' }),
  Void: (references) => ({ ...money, transactionId: references.payment ?? '', reason: 'Void' }),
  Refund: (references) => ({ ...money, ...card, transactionId: references.payment ?? '', reason: 'Customer request' }),
  BillingDateChange: (_references, now) => ({ nextRenewalDate: date(now, 45) }),
};

/** DataLink's subscription status once the event has happened: 2 active, 1 cancelled (runs to its end), 0 inactive. */
const statusCodes: Record<string, 0 | 1 | 2> = {
  NewSaleSuccess: 2,
  RenewalSuccess: 2,
  RenewalFailure: 2,
  UserReactivation: 2,
  BillingDateChange: 2,
  Cancellation: 1,
  Expiration: 0,
  // Money back leaves the subscription as it was; the workflow reads it for its customer.
  Chargeback: 2,
  Return: 2,
  Void: 2,
  Refund: 2,
};

async function seed(event: string, { subscription }: TriggerReferences, sandbox: SandboxControl): Promise<string[]> {
  const statusCode = statusCodes[event];
  if (statusCode === undefined || !subscription) return [];
  await sandbox.post('/ccbill/subscriptions', { id: subscription, statusCode });
  return [`subscription ${subscription} (status ${statusCode})`];
}

/** `now` as CCBill writes its timestamps: `YYYY-MM-DD hh:mm:ss` in its own zone (see `ccbillUtcOffset`). */
export function ccbillTimestamp(now: Date): string {
  const [, sign, hours, minutes] = /^([+-])(\d{2}):(\d{2})$/.exec(ccbillUtcOffset) ?? [];
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
  return new Date(now.getTime() + offsetMs).toISOString().slice(0, 19).replace('T', ' ');
}

export const ccbillWebhooks: WebhookTemplate = {
  provider: 'ccbill',
  events: Object.keys(bodies),
  example: 'Cancellation',
  // CCBill signs nothing; the receiver trusts its source addresses.
  signing: 'none',
  receiverEnvironment: () => ({ CCBILL_ALLOWED_IPS: '127.0.0.1,::1' }),
  defaultSecret: () => '',
  complete: (_event, references) => ({
    ...references,
    customer: references.customer ?? `member${digitsId(6)}`,
    subscription: references.subscription ?? `01${digitsId(17)}`,
    payment: references.payment ?? `01${digitsId(17)}`,
  }),
  build(event, references, _secret, now) {
    const timestamp = ccbillTimestamp(now);
    const fields = {
      clientAccnum: '945280',
      clientSubacc: '0000',
      subscriptionId: references.subscription ?? '',
      timestamp,
      ...(bodies[event]?.(references, now) ?? {}),
    };
    return {
      body: JSON.stringify(fields),
      headers: { 'content-type': 'application/json' },
      query: { eventType: event, eventGroupType: 'Subscription' },
    };
  },
  seed,
};
