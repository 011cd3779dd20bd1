import { z } from 'zod';
import type { BillingEvent, BillingEventKind, JsonValue } from '../../core/events';
import { basicAuthorization, verifyBasicAuth, type BasicCredentials } from '../basic-auth';
import { asJson, compiled, definedOnly, idOf, isJson, jsonBody, shapeError, timeFact } from '../payload';
import { MalformedPayloadError, type WebhookProvider, type WebhookRequest } from '../types';

export interface BillForwardSettings {
  basicAuth: BasicCredentials[];
}

const kinds = new Map(
  Object.entries<BillingEventKind>({
    'Invoice.Paid': 'payment.succeeded',
    // Unpaid is an invoice issued with cost outstanding, before any attempt (seed 001): a payment
    // due, not a failed one, so it opens no dunning.
    'Invoice.Unpaid': 'payment.created',
    'Invoice.PaymentFailed': 'payment.failed',
    // A receipt is one attempt at the gateway: Reject a declined payment, Accept a collected one.
    'Receipt.Reject': 'payment.failed',
    'Receipt.Accept': 'payment.succeeded',
    // Voided: BillForward no longer collects this invoice (it also voids when recalculating, so the workflow asks).
    'Invoice.Voided': 'invoice.voided',
    'Refund.Refunded': 'refund.paid',
    'Subscription.Provisioned': 'subscription.created',
    'Subscription.Updated': 'subscription.updated',
    'Subscription.Cancelled': 'subscription.cancelled',
    'Subscription.Expired': 'subscription.expired',
    // BillForward's dunning ended unpaid: access ends at subscriptionEnd (the period end below), as a
    // cancellation's does, confirmed with BillForward then.
    'Subscription.Failed': 'subscription.cancelled',
    'Subscription.Paused': 'subscription.paused',
    'Subscription.Resumed': 'subscription.resumed',
    'Account.Deleted': 'account.closed',
  }),
);

/** Domains whose entities BillForward keeps in versions, each with its own versionID. */
const versionedDomains = new Set(['Invoice', 'Subscription']);

// Compiled and used through `validate`: see `shapeError`.
const notificationSchema = compiled(
  z.object({
    id: z.string().min(1),
    domain: z.string().min(1),
    action: z.string().min(1),
    created: z.iso.datetime({ offset: true }),
    entityID: z.string().min(1),
    entity: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
    changes: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
    organizationID: z.string().optional(),
  }),
);

const changesSchema = compiled(
  z.object({
    auditFieldChanges: z.array(z.object({ attributeName: z.string(), previousValue: z.unknown().optional(), newValue: z.unknown().optional() })).optional(),
  }),
);

function verify(request: WebhookRequest, { basicAuth }: BillForwardSettings): void {
  // BillForward signs nothing; the credentials ride in the webhook URL it is given (user:password@host).
  verifyBasicAuth(request.headers.authorization, basicAuth, 'BillForward');
}

/** HTTP Basic with `secret` as `user:password`, as BillForward sends the credentials of the URL it was given. */
function sign(_body: string | Buffer, secret: string): Record<string, string> {
  return { authorization: basicAuthorization(secret) };
}

/** `entity` and `changes` are JSON encoded a second time, as strings inside the JSON. */
function innerJson(value: string | Record<string, unknown> | null | undefined, name: string): Record<string, JsonValue> | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return value as Record<string, JsonValue>;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new MalformedPayloadError(`${name} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MalformedPayloadError(`${name} is not a JSON object`);
  return parsed as Record<string, JsonValue>;
}

function auditFieldChangesOf(changes: unknown): NonNullable<z.input<typeof changesSchema>['auditFieldChanges']> {
  if (!changesSchema.validate(changes)) throw shapeError(changesSchema, changes, 'body is not a BillForward notification (changes): ');
  return changes.auditFieldChanges ?? [];
}

function parse(request: WebhookRequest): BillingEvent[] {
  if (!isJson(request)) throw new MalformedPayloadError('content type must be application/json');
  const notification = jsonBody(request);
  if (!notificationSchema.validate(notification)) throw shapeError(notificationSchema, notification, 'body is not a BillForward notification: ');
  const entity = innerJson(notification.entity, 'entity') ?? {};
  const changesObject = innerJson(notification.changes, 'changes');
  const auditFieldChanges = changesObject === undefined ? undefined : auditFieldChangesOf(changesObject);
  const changed = new Set(auditFieldChanges?.map((change) => change.attributeName));

  const { domain, action } = notification;
  const type = `${domain}.${action}`;
  let kind = kinds.get(type) ?? 'unknown';
  // A subscription moving into its next period is a renewal, as Stripe's updates are.
  if (type === 'Subscription.Updated' && changed.has('currentPeriodStart')) kind = 'subscription.renewed';
  // Invoices and subscriptions are versioned: their notification's entityID can be the version's id
  // (the entity's versionID; bf-java's Invoice.Pending example), while GET /invoices/{id}, /execute
  // and the subscription routes take the entity's own id.
  const versioned = versionedDomains.has(domain);
  const entityId = versioned ? (idOf(entity.id) ?? notification.entityID) : notification.entityID;
  const versionId = versioned ? (idOf(entity.versionID) ?? (entityId === notification.entityID ? undefined : notification.entityID)) : undefined;
  const own = (name: string): string | undefined => (domain === name ? entityId : undefined);

  return [
    {
      provider: 'billforward',
      id: notification.id,
      type,
      kind,
      occurredAt: new Date(notification.created).toISOString(),
      references: definedOnly({
        account: own('Account') ?? idOf(entity.accountID),
        subscription: own('Subscription') ?? idOf(entity.subscriptionID),
        invoice: own('Invoice') ?? idOf(entity.invoiceID),
        payment: own('Payment') ?? own('Receipt') ?? idOf(entity.paymentID) ?? idOf(entity.receiptID),
        refund: own('Refund'),
      }),
      facts: definedOnly({
        periodStart: timeFact(entity.currentPeriodStart),
        periodEnd: timeFact(entity.subscriptionEnd) ?? timeFact(entity.currentPeriodEnd),
        providerWillRetry: willRetry(entity),
        nextRetryAt: timeFact(entity.nextExecutionAttempt),
      }),
      details: definedOnly({
        state: entity.state,
        versionID: versionId,
        versionNumber: versioned ? entity.versionNumber : undefined,
        changes: auditFieldChanges === undefined ? undefined : asJson(auditFieldChanges),
        currentPeriodStart: entity.currentPeriodStart,
        currentPeriodEnd: entity.currentPeriodEnd,
        subscriptionEnd: entity.subscriptionEnd,
        totalExecutionAttempts: entity.totalExecutionAttempts,
        nextExecutionAttempt: entity.nextExecutionAttempt,
        organizationID: notification.organizationID,
      }),
      // The notification with `entity` and `changes` decoded, so workflows read them as objects.
      payload: {
        ...(notification as Record<string, JsonValue>),
        ...(notification.entity == null ? {} : { entity }),
        ...(changesObject === undefined ? {} : { changes: changesObject }),
      },
    },
  ];
}

/**
 * BillForward names its next attempt at a failed invoice, and none when it stops. An attempt set
 * after the invoice's period has ended is none either: BillForward will not retry within the period,
 * so billflow's own schedule applies.
 */
function willRetry(entity: Record<string, JsonValue>): boolean | undefined {
  const next = timeFact(entity.nextExecutionAttempt);
  if (next === undefined) return undefined;
  const periodEnd = timeFact(entity.periodEnd) ?? timeFact(entity.currentPeriodEnd);
  return periodEnd !== undefined && Date.parse(next) > Date.parse(periodEnd) ? false : true;
}

/** BillForward counts only a 200 as delivered; anything else is marked Sending and re-sent (seed 000). */
export const billforward: WebhookProvider<BillForwardSettings> = { name: 'billforward', verify, sign, parse, unroutedStatus: 200 };
