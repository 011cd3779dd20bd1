import { z } from 'zod';
import type { BillingEvent, BillingEventKind, JsonValue } from '../../core/events';
import { verifySourceIp } from '../ip-allow-list';
import { compiled, definedOnly, derivedId, idOf, isForm, isJson, jsonBody, shapeError } from '../payload';
import { MalformedPayloadError, type WebhookProvider, type WebhookRequest } from '../types';

export interface CcbillSettings {
  allowedIps: string[];
}

/**
 * CCBill's published webhook ranges are x.1–x.254 of these four /24s; the /24s add only the
 * network and broadcast addresses, which never send. `CCBILL_ALLOWED_IPS` replaces them.
 */
export const ccbillWebhookIps: readonly string[] = ['64.38.212.0/24', '64.38.215.0/24', '64.38.240.0/24', '64.38.241.0/24'];

const kinds = new Map(
  Object.entries<BillingEventKind>({
    NewSaleSuccess: 'subscription.created',
    RenewalSuccess: 'subscription.renewed',
    RenewalFailure: 'payment.failed',
    Cancellation: 'subscription.cancelled',
    Expiration: 'subscription.expired',
    UserReactivation: 'subscription.reactivated',
    Chargeback: 'payment.charged_back',
    // An ACH return takes back money that had been collected, as a chargeback does.
    Return: 'payment.charged_back',
    Void: 'payment.voided',
    Refund: 'refund.paid',
    // The next renewal (and, for a cancelled subscription, the end of access) moves to nextRenewalDate.
    BillingDateChange: 'subscription.updated',
  }),
);

/** The rebill that succeeded: it pays what an earlier RenewalFailure of the subscription left unpaid. */
const paidRenewals = new Set(['RenewalSuccess']);

/** Fields CCBill sends that must not reach workflow histories (readable in the Web UI). */
const redactedFields = new Set(['password']);

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
// Compiled and used through `validate`: see `shapeError`.
const bodySchema = compiled(z.record(z.string(), z.union([scalar, z.array(z.unknown()), z.record(z.string(), z.unknown())])));

function verify(request: WebhookRequest, { allowedIps }: CcbillSettings): void {
  // CCBill signs nothing: its documented protection is the list of addresses it sends from.
  verifySourceIp(request.ip, allowedIps, 'CCBill');
}

/** Nothing: a CCBill delivery proves itself by the address it comes from, not by a header. */
function sign(): Record<string, string> {
  return {};
}

function bodyOf(request: WebhookRequest): Record<string, unknown> {
  if (isJson(request)) {
    const body = jsonBody(request);
    if (!bodySchema.validate(body)) throw shapeError(bodySchema, body, 'body is not a CCBill webhook (a JSON object): ');
    return body;
  }
  if (isForm(request)) {
    const form = new URLSearchParams(request.rawBody.toString('utf8'));
    const fields = new Map<string, string>();
    for (const [key, value] of form) {
      if (fields.has(key)) throw new MalformedPayloadError(`form field ${key.slice(0, 64)} is repeated`);
      fields.set(key, value);
    }
    return Object.fromEntries(fields);
  }
  throw new MalformedPayloadError('content type must be application/json or application/x-www-form-urlencoded');
}

function queryValue(request: WebhookRequest, name: string): string | undefined {
  const value = request.query[name];
  if (Array.isArray(value)) throw new MalformedPayloadError(`query parameter ${name} is repeated`);
  return value === '' ? undefined : value;
}

function parse(request: WebhookRequest): BillingEvent[] {
  const body = bodyOf(request);
  // CCBill names the event in the query string; some integrations copy it into the body too.
  const eventType = queryValue(request, 'eventType') ?? idOf(body.eventType);
  if (eventType === undefined) throw new MalformedPayloadError('eventType is missing from the query string');
  const eventGroupType = queryValue(request, 'eventGroupType') ?? idOf(body.eventGroupType);
  const text = (name: string): string | undefined => idOf(body[name]);

  const subscriptionId = text('subscriptionId');
  const transactionId = text('transactionId');
  const timestamp = text('timestamp');
  const occurredAt = timestamp === undefined ? undefined : cctime(timestamp);

  return [
    {
      provider: 'ccbill',
      id: eventId(eventType, body, { subscriptionId, transactionId, timestamp }),
      type: eventType,
      kind: kinds.get(eventType) ?? 'unknown',
      occurredAt: occurredAt ?? new Date().toISOString(),
      references: definedOnly({ subscription: subscriptionId, payment: transactionId }),
      facts: definedOnly({
        periodStart: text('renewalDate'),
        // The renewal that will not happen, for a cancellation.
        periodEnd: text('nextRenewalDate'),
        // CCBill says when it retries a failed rebill, and says nothing when it does not.
        providerWillRetry: text('nextRetryDate') === undefined ? undefined : true,
        nextRetryAt: text('nextRetryDate'),
        renewalPaid: paidRenewals.has(eventType) ? true : undefined,
      }),
      details: definedOnly({
        occurredAtIsReceiptTime: occurredAt === undefined ? true : undefined,
        eventGroupType,
        clientAccnum: text('clientAccnum'),
        clientSubacc: text('clientSubacc'),
        timestamp,
        failureReason: text('failureReason'),
        failureCode: text('failureCode'),
        nextRetryDate: text('nextRetryDate'),
        renewalDate: text('renewalDate'),
        nextRenewalDate: text('nextRenewalDate'),
        reason: text('reason'),
        source: text('source'),
        originalSubscriptionId: text('originalSubscriptionId'),
      }),
      payload: Object.fromEntries(Object.entries(body).map(([key, value]) => [key, redactedFields.has(key) ? '[redacted]' : (value as JsonValue)])),
    },
  ];
}

/**
 * CCBill sends no event id. The derived one hashes the event type with the ids and the time
 * CCBill gives (the same on every redelivery); a payload with neither transaction id nor
 * timestamp is hashed whole, keys sorted, so field order and JSON-vs-form encoding do not matter.
 */
function eventId(
  eventType: string,
  body: Record<string, unknown>,
  { subscriptionId, transactionId, timestamp }: { subscriptionId?: string; transactionId?: string; timestamp?: string },
): string {
  if (transactionId !== undefined || timestamp !== undefined) {
    return derivedId(eventType, [eventType, subscriptionId ?? '', transactionId ?? '', timestamp ?? '']);
  }
  const whole = Object.keys(body)
    .sort()
    .map((key) => `${key}=${typeof body[key] === 'string' ? body[key] : JSON.stringify(body[key])}`);
  return derivedId(eventType, [eventType, ...whole]);
}

/**
 * CCBill's offset from UTC: its timestamps (`2017-07-01 05:18:43`) carry no zone and are CCBill's
 * local time, Mountain Standard Time (CCBill is in Phoenix, Arizona, which keeps MST all year:
 * UTC−07:00, no daylight saving; DataLink's users say the same of its times). Read so, CCBill's
 * events order correctly against each other and against billflow's own clock.
 */
export const ccbillUtcOffset = '-07:00';

/** `2017-07-01 05:18:43` in CCBill's zone, as ISO-8601 in UTC; the original string stays in `details.timestamp`. */
function cctime(value: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/.exec(value);
  if (match === null) return undefined;
  const time = Date.parse(`${match[1]}T${match[2]}${ccbillUtcOffset}`);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

export const ccbill: WebhookProvider<CcbillSettings> = { name: 'ccbill', verify, sign, parse };
