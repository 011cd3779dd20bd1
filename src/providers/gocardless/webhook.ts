import { z } from 'zod';
import type { BillingEvent, BillingEventKind } from '../../core/events';
import { anySignatureMatches, hmacSha256Hex } from '../hmac';
import { asJson, compiled, definedOnly, isJson, jsonBody, shapeError } from '../payload';
import { MalformedPayloadError, PartlyMalformedBatchError, VerificationError, type WebhookProvider, type WebhookRequest } from '../types';

/** GoCardless answers a bad signature with 498 ("invalid token") and expects receivers to do the same. */
const invalidSignature = 498;
const signatureFormat = /^[0-9a-f]{64}$/i;

const kinds = new Map(
  Object.entries<BillingEventKind>({
    'mandates.created': 'mandate.created',
    'mandates.active': 'mandate.active',
    'mandates.cancelled': 'mandate.cancelled',
    // No payment can be collected through a blocked mandate, or one the payer suspended, until it is
    // active again: as with a cancellation, the workflow confirms the status and then suspends.
    'mandates.blocked': 'mandate.cancelled',
    'mandates.suspended_by_payer': 'mandate.cancelled',
    'mandates.failed': 'mandate.failed',
    'mandates.expired': 'mandate.expired',
    'mandates.reinstated': 'mandate.reinstated',
    'mandates.replaced': 'mandate.replaced',
    'payments.failed': 'payment.failed',
    // A payment that failed after it was paid out, now debited from a payout: the money was not collected after all.
    'payments.late_failure_settled': 'payment.failed',
    'payments.confirmed': 'payment.succeeded',
    'payments.paid_out': 'payment.succeeded',
    'payments.cancelled': 'payment.cancelled',
    'payments.charged_back': 'payment.charged_back',
    // The payer's bank withdrew its chargeback (the money stays), or settled it (the money is gone).
    'payments.chargeback_cancelled': 'payment.chargeback_reversed',
    'payments.chargeback_settled': 'payment.chargeback_lost',
    'subscriptions.payment_created': 'subscription.renewed',
    'subscriptions.cancelled': 'subscription.cancelled',
    'subscriptions.finished': 'subscription.expired',
    'subscriptions.paused': 'subscription.paused',
    'subscriptions.resumed': 'subscription.resumed',
    'refunds.created': 'refund.created',
    'refunds.paid': 'refund.paid',
    'refunds.failed': 'refund.failed',
  }),
);

const id = z.string().min(1);

// GoCardless adds fields without notice. Only what billflow relies on is checked and z.object
// ignores the rest, so a new field never turns a genuine batch into a 400 that GoCardless would
// retry forever. Compiled and used through `validate`: see `shapeError`.
const eventSchema = compiled(
  z.object({
    id,
    created_at: z.iso.datetime({ offset: true }),
    resource_type: id,
    action: id,
    links: z
      .object({
        mandate: id.optional(),
        new_mandate: id.optional(),
        payment: id.optional(),
        subscription: id.optional(),
        customer: id.optional(),
        refund: id.optional(),
      })
      .optional(),
    details: z
      .object({
        cause: z.string().nullish(),
        origin: z.string().nullish(),
        reason_code: z.string().nullish(),
        scheme: z.string().nullish(),
        will_attempt_retry: z.boolean().nullish(),
        not_retried_reason: z.string().nullish(),
        description: z.string().nullish(),
      })
      .optional(),
  }),
);

const bodySchema = compiled(
  z.object({
    events: z.array(z.unknown()),
    meta: z.object({ webhook_id: z.string().optional() }).optional(),
  }),
);

function verify(request: WebhookRequest, { webhookSecrets }: { webhookSecrets: string[] }): void {
  if (webhookSecrets.length === 0) {
    throw new VerificationError(invalidSignature, 'GoCardless webhook secret is not configured');
  }
  const header = request.headers['webhook-signature'];
  if (header === undefined || header === '') {
    throw new VerificationError(invalidSignature, 'missing Webhook-Signature header');
  }
  if (typeof header !== 'string' || !signatureFormat.test(header)) {
    throw new VerificationError(invalidSignature, 'malformed Webhook-Signature header');
  }
  if (!anySignatureMatches(webhookSecrets, [request.rawBody], [header])) {
    throw new VerificationError(invalidSignature, 'Webhook-Signature does not match');
  }
}

/** `Webhook-Signature`: the hex HMAC-SHA256 of the body, nothing else signed. */
function sign(body: string | Buffer, secret: string): Record<string, string> {
  return { 'webhook-signature': hmacSha256Hex(secret, [body]) };
}

function parse(request: WebhookRequest): BillingEvent[] {
  if (!isJson(request)) throw new MalformedPayloadError('content type must be application/json');
  const body = jsonBody(request);
  if (!bodySchema.validate(body)) throw shapeError(bodySchema, body, 'body is not a GoCardless batch: ');
  // A batch holds up to hundreds of unrelated events: one malformed entry must not sink the others.
  const usable: BillingEvent[] = [];
  const unusable: PartlyMalformedBatchError['unusable'] = [];
  body.events.forEach((event, index) => {
    if (eventSchema.validate(event)) usable.push(toBillingEvent(event));
    else unusable.push({ provider: 'gocardless', index, ...idOf(event), reason: shapeError(eventSchema, event, '').reason, ...deliveryIdOf(body) });
  });
  if (unusable.length > 0) throw new PartlyMalformedBatchError(usable, unusable);
  return usable;
}

/** A malformed entry's own id, where it has a readable one: what an operator looks it up by. */
function idOf(event: unknown): { id?: string } {
  const id = typeof event === 'object' && event !== null ? (event as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length <= 64 ? { id } : {};
}

function deliveryIdOf(body: { meta?: { webhook_id?: string } }): { deliveryId?: string } {
  return body.meta?.webhook_id ? { deliveryId: body.meta.webhook_id } : {};
}

function toBillingEvent(event: z.input<typeof eventSchema>): BillingEvent {
  const type = `${event.resource_type}.${event.action}`;
  const links = event.links ?? {};
  const details = event.details ?? {};
  const own = {
    cause: details.cause,
    origin: details.origin,
    reason_code: details.reason_code,
    scheme: details.scheme,
    will_attempt_retry: details.will_attempt_retry,
    not_retried_reason: details.not_retried_reason,
    description: details.description,
    new_mandate: links.new_mandate,
  };
  return {
    provider: 'gocardless',
    id: event.id,
    type,
    kind: kinds.get(type) ?? 'unknown',
    occurredAt: event.created_at,
    references: definedOnly({
      mandate: links.mandate,
      payment: links.payment,
      subscription: links.subscription,
      customer: links.customer,
      refund: links.refund,
    }),
    facts: definedOnly({
      providerWillRetry: typeof details.will_attempt_retry === 'boolean' ? details.will_attempt_retry : undefined,
      replacementMandate: links.new_mandate,
    }),
    details: definedOnly(own),
    payload: asJson(event),
  };
}

export const gocardless: WebhookProvider<{ webhookSecrets: string[] }> = { name: 'gocardless', verify, sign, parse };
