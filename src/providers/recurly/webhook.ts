import { z } from 'zod';
import type { BillingEvent, BillingEventKind, JsonValue } from '../../core/events';
import { basicAuthorization, verifyBasicAuth, type BasicCredentials } from '../basic-auth';
import { anySignatureMatches, hmacSha256Hex } from '../hmac';
import { verifySourceIp } from '../ip-allow-list';
import { asJson, compiled, definedOnly, derivedId, idOf, isJson, isXml, isXmlType, jsonBody, shapeError, timeFact } from '../payload';
import { parseRecurlyXml } from './webhook-xml';
import { MalformedPayloadError, VerificationError, type SigningOptions, type WebhookProvider, type WebhookRequest } from '../types';

export interface RecurlySettings {
  /** JSON endpoints: `recurly-signature` secrets (several during a rotation). */
  webhookSecrets: string[];
  signatureToleranceSeconds: number;
  /** XML endpoints: HTTP Basic credentials and source addresses, both required. */
  basicAuth: BasicCredentials[];
  allowedIps: string[];
}

/** Recurly's published webhook source addresses (US, then EU); `RECURLY_ALLOWED_IPS` replaces them. */
export const recurlyWebhookIps: readonly string[] = [
  '35.233.168.62', '35.185.253.62', '35.188.232.138', '35.236.210.191', '35.194.77.56', '34.86.76.227',
  '34.86.231.208', '35.245.149.42', '34.105.107.15', '35.230.60.156', '35.197.126.78', '35.199.174.181',
  '34.107.83.154', '34.89.164.175', '34.141.92.246', '34.107.35.64', '35.240.64.130', '34.79.238.20',
  '35.195.228.7', '34.79.180.69',
];

/** Every failure of the JSON signature (missing, malformed, stale, forged) is a 401. */
const unauthenticated = 401;

const jsonKinds = new Map(
  Object.entries<BillingEventKind>({
    'payment.failed': 'payment.failed',
    'payment.succeeded': 'payment.succeeded',
    'payment.voided': 'payment.voided',
    'payment.refunded': 'refund.paid',
    // Recurly's dunning: the invoice went past due, a step of its dunning campaign, its final outcome.
    'invoice.past_due': 'payment.failed',
    'dunning_event.created': 'payment.failed',
    'invoice.closed': 'invoice.closed',
    'subscription.created': 'subscription.created',
    'subscription.updated': 'subscription.updated',
    'subscription.renewed': 'subscription.renewed',
    'subscription.canceled': 'subscription.cancelled',
    'subscription.expired': 'subscription.expired',
    'subscription.reactivated': 'subscription.reactivated',
    'subscription.paused': 'subscription.paused',
    'subscription.resumed': 'subscription.resumed',
    'account.closed': 'account.closed',
  }),
);

const xmlKinds = new Map(
  Object.entries<BillingEventKind>({
    failed_payment_notification: 'payment.failed',
    successful_payment_notification: 'payment.succeeded',
    void_payment_notification: 'payment.voided',
    successful_refund_notification: 'refund.paid',
    past_due_invoice_notification: 'payment.failed',
    past_due_charge_invoice_notification: 'payment.failed',
    new_dunning_event_notification: 'payment.failed',
    closed_invoice_notification: 'invoice.closed',
    // A charge invoice (credit invoices enabled) that failed: closed unpaid.
    failed_charge_invoice_notification: 'invoice.closed',
    new_subscription_notification: 'subscription.created',
    updated_subscription_notification: 'subscription.updated',
    renewed_subscription_notification: 'subscription.renewed',
    canceled_subscription_notification: 'subscription.cancelled',
    expired_subscription_notification: 'subscription.expired',
    // Despite its name, Recurly sends this one when a subscription is reactivated.
    reactivated_account_notification: 'subscription.reactivated',
    subscription_paused_notification: 'subscription.paused',
    subscription_resumed_notification: 'subscription.resumed',
    canceled_account_notification: 'account.closed',
  }),
);

function verify(request: WebhookRequest, settings: RecurlySettings, now = new Date()): void {
  // Each Recurly endpoint is JSON or XML, and the two are protected differently.
  if (isXml(request)) {
    verifySourceIp(request.ip, settings.allowedIps, 'Recurly');
    verifyBasicAuth(request.headers.authorization, settings.basicAuth, 'Recurly XML');
  } else {
    verifySignature(request, settings, now);
  }
}

/** `<timestamp>,<sig>[,<sig>…]`: hex HMAC-SHA256 of `<timestamp>.<body>`, valid when any signature matches. */
function verifySignature(request: WebhookRequest, { webhookSecrets, signatureToleranceSeconds }: RecurlySettings, now: Date): void {
  if (webhookSecrets.length === 0) throw new VerificationError(unauthenticated, 'Recurly webhook secret is not configured');
  const header = request.headers['recurly-signature'];
  if (header === undefined || header === '') throw new VerificationError(unauthenticated, 'missing recurly-signature header');
  const [timestamp = '', ...signatures] = typeof header === 'string' ? header.split(',').map((part) => part.trim()) : [];
  if (!/^\d{1,15}$/.test(timestamp) || signatures.every((signature) => signature === '')) {
    throw new VerificationError(unauthenticated, 'malformed recurly-signature header');
  }
  // The timestamp is signed exactly as written in the header.
  if (!anySignatureMatches(webhookSecrets, [`${timestamp}.`, request.rawBody], signatures)) {
    throw new VerificationError(unauthenticated, 'recurly-signature does not match');
  }
  // Recurly documents milliseconds, and its examples also show seconds: 10^12 ms is 2001, 10^12 s is in the year 33658.
  const signedAtMs = Number(timestamp) < 1e12 ? Number(timestamp) * 1000 : Number(timestamp);
  if (Math.abs(now.getTime() - signedAtMs) > signatureToleranceSeconds * 1000) {
    throw new VerificationError(unauthenticated, 'recurly-signature timestamp is outside the tolerance');
  }
}

/**
 * JSON: `recurly-signature: <unix ms>,<hex HMAC-SHA256 of "<ms>.<body>">`; XML: HTTP Basic with
 * `secret` as `user:password` (the source address is the network's to give).
 */
function sign(body: string | Buffer, secret: string, { now = new Date(), contentType = '' }: SigningOptions = {}): Record<string, string> {
  if (isXmlType(contentType)) return { authorization: basicAuthorization(secret) };
  const timestamp = String(now.getTime());
  return { 'recurly-signature': `${timestamp},${hmacSha256Hex(secret, [`${timestamp}.`, body])}` };
}

function parse(request: WebhookRequest): BillingEvent[] {
  if (isXml(request)) return [parseXml(request)];
  if (isJson(request)) return [parseJson(request)];
  throw new MalformedPayloadError('content type must be application/json or application/xml');
}

// Compiled and used through `validate`: see `shapeError`.
const jsonSchema = compiled(
  z.object({
    id: z.string().min(1),
    object_type: z.string().min(1),
    event_type: z.string().min(1),
    event_time: z.iso.datetime({ offset: true }),
    site_id: z.string().optional(),
    uuid: z.string().min(1).optional(),
    account_code: z.string().min(1).optional(),
    invoice_number: z.union([z.number().int(), z.string().min(1)]).optional(),
  }),
);

/** Recurly's JSON notifications carry ids only; the details are fetched inside Temporal. */
function parseJson(request: WebhookRequest): BillingEvent {
  const body = jsonBody(request);
  if (!jsonSchema.validate(body)) throw shapeError(jsonSchema, body, 'body is not a Recurly notification: ');
  const type = `${body.object_type}.${body.event_type}`;
  const notificationId = request.headers['recurly-notification-id'];
  // The body's `id` is the object's, shared by its different events (an invoice's past_due and
  // closed): no id to dedupe on. Recurly always sends the header, so a delivery without it is refused.
  if (typeof notificationId !== 'string' || notificationId === '') {
    throw new MalformedPayloadError('missing recurly-notification-id header: it is the only id of a Recurly JSON notification');
  }
  const uuidRole = body.object_type === 'subscription' ? 'subscription' : body.object_type === 'payment' ? 'payment' : undefined;
  return {
    provider: 'recurly',
    // The header is the same on every retry of a notification: the dedup key Recurly documents.
    id: notificationId,
    type,
    kind: jsonKinds.get(type) ?? 'unknown',
    occurredAt: body.event_time,
    references: definedOnly({
      account: body.account_code,
      subscription: uuidRole === 'subscription' ? body.uuid : undefined,
      payment: uuidRole === 'payment' ? body.uuid : undefined,
      invoice: idOf(body.invoice_number),
    }),
    facts: {},
    details: definedOnly({ site_id: body.site_id, uuid: uuidRole === undefined ? body.uuid : undefined }),
    payload: asJson(body),
  };
}

type Element = { [key: string]: JsonValue } | undefined;

const child = (parent: Element, name: string): Element => {
  const value = parent?.[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
};
const field = (parent: Element, name: string): JsonValue | undefined => parent?.[name];
const stringField = (parent: Element, name: string): string | undefined => idOf(field(parent, name));

/** Where a notification without a time of its own says when it happened. */
const occurredAtFields: Record<string, [string, string]> = {
  canceled_subscription_notification: ['subscription', 'canceled_at'],
  expired_subscription_notification: ['subscription', 'expires_at'],
  renewed_subscription_notification: ['subscription', 'current_period_started_at'],
  subscription_paused_notification: ['subscription', 'paused_at'],
  closed_invoice_notification: ['invoice', 'closed_at'],
  failed_charge_invoice_notification: ['invoice', 'closed_at'],
};

/** How a closed invoice ended, by its v2 state (`collected` or `failed`; v3 says `paid`); undefined for any other. */
function closedPaid(root: string, state: JsonValue | undefined): boolean | undefined {
  if (root === 'failed_charge_invoice_notification') return false;
  if (root !== 'closed_invoice_notification') return undefined;
  if (state === 'collected' || state === 'paid') return true;
  return state === 'failed' ? false : undefined;
}

/**
 * Legacy v2 XML: the root element names the event, and there is no event id. The id is derived
 * from the root name and the parsed content, so a redelivery (same content, any whitespace) gets
 * the same id.
 */
function parseXml(request: WebhookRequest): BillingEvent {
  const { root, body } = parseRecurlyXml(request.rawBody);
  const account = child(body, 'account');
  const subscription = child(body, 'subscription');
  const transaction = child(body, 'transaction');
  const invoice = child(body, 'invoice');
  const invoiceSubscriptions = field(invoice, 'subscription_ids');

  const [section, name] = occurredAtFields[root] ?? ['transaction', 'date'];
  const stated = stringField(child(body, section), name) ?? stringField(transaction, 'date');
  const occurredAt = stated !== undefined && !Number.isNaN(Date.parse(stated)) ? new Date(stated).toISOString() : undefined;

  return {
    provider: 'recurly',
    id: derivedId(root, [JSON.stringify(body)]),
    type: root,
    kind: xmlKinds.get(root) ?? 'unknown',
    occurredAt: occurredAt ?? new Date().toISOString(),
    references: definedOnly({
      account: stringField(account, 'account_code'),
      subscription:
        stringField(subscription, 'uuid') ??
        stringField(transaction, 'subscription_id') ??
        stringField(invoice, 'subscription_id') ??
        (Array.isArray(invoiceSubscriptions) ? idOf(invoiceSubscriptions[0]) : undefined),
      payment: stringField(transaction, 'id'),
      invoice: stringField(invoice, 'invoice_number') ?? stringField(transaction, 'invoice_number'),
    }),
    facts: definedOnly({
      periodStart: timeFact(field(subscription, 'current_period_started_at')),
      periodEnd: timeFact(field(subscription, 'expires_at')) ?? timeFact(field(subscription, 'current_period_ends_at')),
      invoicePaid: closedPaid(root, field(invoice, 'state')),
    }),
    details: definedOnly({
      occurredAtIsReceiptTime: occurredAt === undefined ? true : undefined,
      subscription_state: field(subscription, 'state'),
      plan_code: field(child(subscription, 'plan'), 'plan_code'),
      current_period_started_at: field(subscription, 'current_period_started_at'),
      current_period_ends_at: field(subscription, 'current_period_ends_at'),
      canceled_at: field(subscription, 'canceled_at'),
      expires_at: field(subscription, 'expires_at'),
      transaction_status: field(transaction, 'status'),
      failure_type: field(transaction, 'failure_type'),
      amount_in_cents: field(transaction, 'amount_in_cents'),
      invoice_number: field(invoice, 'invoice_number') ?? field(transaction, 'invoice_number'),
      invoice_state: field(invoice, 'state'),
      dunning_events_count: field(invoice, 'dunning_events_count'),
      final_dunning_event: field(invoice, 'final_dunning_event'),
    }),
    payload: { [root]: body },
  };
}

export const recurly: WebhookProvider<RecurlySettings> = { name: 'recurly', verify, sign, parse };
