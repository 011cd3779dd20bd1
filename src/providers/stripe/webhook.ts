import { z } from 'zod';
import type { BillingEvent, BillingEventKind, BillingReferences, JsonValue } from '../../core/events';
import { anySignatureMatches, hmacSha256Hex } from '../hmac';
import { asJson, compiled, definedOnly, idOf, isJson, isoFromSeconds, isoFromUnixSeconds, jsonBody, shapeError, timeFact } from '../payload';
import { MalformedPayloadError, VerificationError, type SigningOptions, type WebhookProvider, type WebhookRequest } from '../types';

export interface StripeSettings {
  webhookSecrets: string[];
  signatureToleranceSeconds: number;
}

/** One rule for every signature failure (missing, malformed, stale, forged): 401. 400 is for authentic bodies billflow cannot read. */
const unauthenticated = 401;

const kinds = new Map(
  Object.entries<BillingEventKind>({
    'invoice.payment_failed': 'payment.failed',
    // The customer must authenticate the payment (SCA): a failed attempt only they can complete.
    'invoice.payment_action_required': 'payment.failed',
    'invoice.paid': 'payment.succeeded',
    'invoice.payment_succeeded': 'payment.succeeded',
    // Stripe stops collecting the invoice: its dunning is over, with nothing to suspend for.
    'invoice.voided': 'invoice.voided',
    'invoice.marked_uncollectible': 'invoice.uncollectible',
    'customer.subscription.created': 'subscription.created',
    'customer.subscription.updated': 'subscription.updated',
    // Stripe deletes a subscription when it has ended (at once, or at the end of a period it was
    // cancelled for): access ends now, which billflow calls expired. A cancellation scheduled for
    // the period's end arrives as an update (see `subscriptionUpdateKind`).
    'customer.subscription.deleted': 'subscription.expired',
    'customer.subscription.paused': 'subscription.paused',
    'customer.subscription.resumed': 'subscription.resumed',
    'customer.deleted': 'account.closed',
    'charge.refunded': 'refund.created',
    // A dispute opened (or an inquiry: the workflow asks the dispute whether money was taken), and
    // an inquiry that became a chargeback, Stripe taking the funds. `charge.dispute.closed` is read
    // from its status (`disputeClosedKinds`).
    'charge.dispute.created': 'payment.charged_back',
    'charge.dispute.funds_withdrawn': 'payment.charged_back',
    'charge.dispute.funds_reinstated': 'payment.chargeback_reversed',
    'refund.created': 'refund.created',
    'refund.failed': 'refund.failed',
  }),
);

/** The event types billflow gives a kind of its own: what catch-up asks Stripe's event list for (`types[]`, at most 20). */
export const stripeHandledEventTypes: readonly string[] = [...kinds.keys(), 'charge.dispute.closed'];

const id = z.string().min(1);
const unixSeconds = z.number().int().nullish();

const stripeRef = z.union([z.string(), z.object({ id: z.string() })]).nullish();

// Compiled and used through `validate`: see `shapeError`.
const eventSchema = compiled(
  z.object({
    id,
    type: id,
    created: z.number().int(),
    livemode: z.boolean().optional(),
    account: z.string().optional(),
    data: z.object({
      object: z.object({ id: z.string().optional(), object: z.string().optional() }),
      previous_attributes: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
);

/** Fields billflow reads from `data.object`; types checked, presence not (they differ per object and API version). */
const objectSchema = compiled(
  z.object({
    customer: stripeRef,
    subscription: stripeRef,
    invoice: stripeRef,
    payment_intent: stripeRef,
    charge: stripeRef,
    latest_invoice: stripeRef,
    // API 2025-03-31 and later: an invoice names its subscription under `parent`.
    parent: z.object({ subscription_details: z.object({ subscription: z.string().nullish() }).nullish() }).nullish(),
    attempt_count: z.number().int().nullish(),
    next_payment_attempt: unixSeconds,
    billing_reason: z.string().nullish(),
    status: z.string().nullish(),
    cancel_at_period_end: z.boolean().nullish(),
    cancel_at: unixSeconds,
    canceled_at: unixSeconds,
    ended_at: unixSeconds,
    current_period_start: unixSeconds,
    current_period_end: unixSeconds,
    // API 2025-03-31 and later: the period lives on the subscription items.
    items: z
      .object({ data: z.array(z.object({ current_period_start: unixSeconds, current_period_end: unixSeconds })).optional() })
      .nullish(),
  }),
);

interface ParsedHeader {
  timestamp: string;
  signatures: string[];
}

/** `t=<unix s>,v1=<hex>[,v1=<hex>…]`, other schemes (v0) ignored, as Stripe's libraries do. */
function parseHeader(header: string): ParsedHeader | undefined {
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const equals = item.indexOf('=');
    if (equals < 0) return undefined;
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = value;
    } else if (key === 'v1') {
      signatures.push(value);
    }
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

function verify(request: WebhookRequest, { webhookSecrets, signatureToleranceSeconds }: StripeSettings, now = new Date()): void {
  if (webhookSecrets.length === 0) throw new VerificationError(unauthenticated, 'Stripe webhook secret is not configured');
  const header = request.headers['stripe-signature'];
  if (header === undefined || header === '') throw new VerificationError(unauthenticated, 'missing Stripe-Signature header');
  const parsed = typeof header === 'string' ? parseHeader(header) : undefined;
  if (parsed === undefined) throw new VerificationError(unauthenticated, 'malformed Stripe-Signature header');

  if (!anySignatureMatches(webhookSecrets, [`${parsed.timestamp}.`, request.rawBody], parsed.signatures)) {
    throw new VerificationError(unauthenticated, 'Stripe-Signature does not match');
  }
  // Checked both ways: Stripe's libraries only refuse old timestamps, but a signature from the
  // future is no more a fresh delivery than an old one.
  if (Math.abs(now.getTime() / 1000 - Number(parsed.timestamp)) > signatureToleranceSeconds) {
    throw new VerificationError(unauthenticated, 'Stripe-Signature timestamp is outside the tolerance');
  }
}

/** `t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe (and stripe-node's `generateTestHeaderString`) writes it. */
function sign(body: string | Buffer, secret: string, { now = new Date() }: SigningOptions = {}): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return { 'stripe-signature': `t=${timestamp},v1=${hmacSha256Hex(secret, [`${timestamp}.`, body])}` };
}

function parse(request: WebhookRequest): BillingEvent[] {
  if (!isJson(request)) throw new MalformedPayloadError('content type must be application/json');
  const event = jsonBody(request);
  if (!eventSchema.validate(event)) throw shapeError(eventSchema, event, 'body is not a Stripe event: ');
  const object = event.data.object;
  if (!objectSchema.validate(object)) throw shapeError(objectSchema, object, 'body is not a Stripe event: ');
  const previous = event.data.previous_attributes ?? {};
  const kind =
    event.type === 'customer.subscription.updated'
      ? subscriptionUpdateKind(object, previous)
      : event.type === 'charge.dispute.closed'
        ? (disputeClosedKinds.get(object.status ?? '') ?? 'unknown')
        : (kinds.get(event.type) ?? 'unknown');
  return [
    {
      provider: 'stripe',
      id: event.id,
      type: event.type,
      kind,
      occurredAt: isoFromSeconds(event.created),
      references: referencesOf(object),
      ...factsAndDetailsOf(event, object, previous, kind),
      payload: asJson(event),
    },
  ];
}

type StripeObject = z.input<typeof objectSchema> & { id?: string; object?: string };

/**
 * Statuses a subscription moves to that its workflow acts on: `past_due` (Stripe's dunning is
 * under way), `unpaid` (it ended without a payment: Stripe leaves the subscription unpaid),
 * `incomplete_expired` (its first invoice was never paid: it ends).
 */
const statusChangeKinds = new Map<string, BillingEventKind>([
  ['past_due', 'subscription.past_due'],
  ['unpaid', 'subscription.unpaid'],
  ['incomplete_expired', 'subscription.expired'],
]);

/**
 * A closed dispute by its final status: `won` (and an inquiry closed, `warning_closed`, or a
 * dispute `prevented`) gave the money back; `lost` keeps it with the payer.
 */
const disputeClosedKinds = new Map<string, BillingEventKind>([
  ['won', 'payment.chargeback_reversed'],
  ['warning_closed', 'payment.chargeback_reversed'],
  ['prevented', 'payment.chargeback_reversed'],
  ['lost', 'payment.chargeback_lost'],
]);

/** What an update means for the subscription's entity workflow; a new period is a renewal. */
function subscriptionUpdateKind(object: StripeObject, previous: Record<string, unknown>): BillingEventKind {
  const previousItem = (previous.items as { data?: { current_period_start?: unknown }[] } | undefined)?.data?.[0];
  const newPeriod =
    (previous.current_period_start !== undefined && previous.current_period_start !== object.current_period_start) ||
    (previousItem?.current_period_start !== undefined && previousItem.current_period_start !== object.items?.data?.[0]?.current_period_start);
  if (newPeriod) return 'subscription.renewed';
  // A trial that ends without a payment method pauses the subscription (trial_settings.end_behavior).
  if (previous.status !== undefined && previous.status !== 'paused' && object.status === 'paused') return 'subscription.paused';
  if (previous.status === 'paused' && (object.status === 'active' || object.status === 'trialing')) return 'subscription.resumed';
  const statusKind = typeof previous.status === 'string' && previous.status !== object.status ? statusChangeKinds.get(object.status ?? '') : undefined;
  if (statusKind) return statusKind;
  if (previous.cancel_at_period_end === false && object.cancel_at_period_end === true) return 'subscription.cancelled';
  if (previous.cancel_at_period_end === true && object.cancel_at_period_end === false) return 'subscription.reactivated';
  return 'subscription.updated';
}

const ref = (value: string | { id: string } | null | undefined): string | undefined => idOf(typeof value === 'object' && value !== null ? value.id : value);

/** The object's own id when it is a `type` (an invoice event names its invoice by `data.object.id`). */
const own = (object: StripeObject, type: string): string | undefined => (object.object === type ? idOf(object.id) : undefined);

function referencesOf(object: StripeObject): BillingReferences {
  return definedOnly({
    customer: own(object, 'customer') ?? ref(object.customer),
    subscription: own(object, 'subscription') ?? ref(object.subscription) ?? idOf(object.parent?.subscription_details?.subscription),
    invoice: own(object, 'invoice') ?? ref(object.invoice) ?? ref(object.latest_invoice),
    payment: own(object, 'payment_intent') ?? ref(object.payment_intent) ?? own(object, 'charge') ?? ref(object.charge),
    refund: own(object, 'refund'),
    dispute: own(object, 'dispute'),
  });
}

function factsAndDetailsOf(
  event: z.input<typeof eventSchema>,
  object: StripeObject,
  previous: Record<string, unknown>,
  kind: BillingEventKind,
): Pick<BillingEvent, 'facts' | 'details'> {
  const details = detailsOf(event, object, previous);
  const { next_payment_attempt: nextAttempt, current_period_start: periodStart, current_period_end: periodEnd, cancel_at: cancelAt } = details;
  return {
    facts: definedOnly({
      periodStart: timeFact(periodStart),
      // Set with cancel_at_period_end, and the end of a subscription cancelled at a date.
      periodEnd: timeFact(cancelAt) ?? timeFact(periodEnd),
      // A failed invoice's next automatic attempt; null when Stripe will not try again.
      providerWillRetry: kind !== 'payment.failed' || nextAttempt === undefined ? undefined : nextAttempt !== null,
      nextRetryAt: timeFact(nextAttempt),
      customerActionRequired: event.type === 'invoice.payment_action_required' ? true : undefined,
    }),
    details,
  };
}

function detailsOf(event: z.input<typeof eventSchema>, object: StripeObject, previous: Record<string, unknown>): Record<string, JsonValue> {
  const item = object.items?.data?.[0];
  return definedOnly({
    livemode: event.livemode,
    connected_account: event.account,
    status: object.status,
    previous_status: typeof previous.status === 'string' ? previous.status : undefined,
    billing_reason: object.billing_reason,
    attempt_count: object.attempt_count,
    // Stripe gives times as unix seconds; details carry ISO-8601 like every other provider's.
    next_payment_attempt: isoFromUnixSeconds(object.next_payment_attempt),
    current_period_start: isoFromUnixSeconds(object.current_period_start ?? item?.current_period_start),
    current_period_end: isoFromUnixSeconds(object.current_period_end ?? item?.current_period_end),
    cancel_at_period_end: object.cancel_at_period_end,
    cancel_at: isoFromUnixSeconds(object.cancel_at),
    canceled_at: isoFromUnixSeconds(object.canceled_at),
    ended_at: isoFromUnixSeconds(object.ended_at),
  });
}

export const stripe: WebhookProvider<StripeSettings> = { name: 'stripe', verify, sign, parse };
