import { z } from 'zod';
import type { LoggedEvent, ProviderEventLog } from '../provider';
import { listRecurlyUpdatedSince, type RecurlyOptions } from './api';

/*
 * Recurly v3 has no list of events, so catch-up reconciles by state: it lists the subscriptions and
 * invoices changed since the cursor (`sort=updated_at&order=asc`) and makes each record's current
 * state into the JSON notification Recurly sends for that state, read by the webhook parser as a
 * webhook is, so it takes the same kind, references and routes. Its id (the
 * `recurly-notification-id` a webhook carries) is derived from the record and the state it is in —
 * and when it entered it —, never from `updated_at` alone: a record listed again without a new state
 * (another sweep, an unrelated change) gives the same id, and its workflow's inbox drops it. A
 * webhook of the same change has Recurly's own id, so the workflows also take a state they already
 * have as a no-op (the README, "When webhooks are missed").
 */

const accountMini = z.object({ code: z.string().min(1) });
const time = z.string().min(1);

const listedSubscription = z.object({
  id: z.string().min(1),
  uuid: z.string().min(1),
  state: z.string(),
  account: accountMini,
  updated_at: time,
  created_at: time.nullish(),
  activated_at: time.nullish(),
  current_period_started_at: time.nullish(),
  canceled_at: time.nullish(),
  expires_at: time.nullish(),
  paused_at: time.nullish(),
});

const listedInvoice = z.object({
  id: z.string().min(1),
  number: z.string().min(1),
  state: z.string(),
  account: accountMini,
  updated_at: time,
  closed_at: time.nullish(),
});

export type ListedRecurlySubscription = z.infer<typeof listedSubscription>;
export type ListedRecurlyInvoice = z.infer<typeof listedInvoice>;

/** What a record's state is as a notification: its JSON `object_type.event_type`, and when it happened. */
interface StateNotification {
  eventType: string;
  at: string;
  body: Record<string, string>;
}

/**
 * The notifications a subscription's current state stands for. `active`, once its period started
 * after it was first activated, is the renewal of that period (which the workflow applies once per
 * period) and a resumption then (Recurly resumes at a renewal; a no-op unless the workflow has it
 * paused); `canceled`, `expired` (or `failed`, which never started), `paused` each what Recurly sends
 * on entering it. `future` is nothing yet.
 */
export function subscriptionNotifications(subscription: ListedRecurlySubscription): StateNotification[] {
  const body = { object_type: 'subscription', uuid: subscription.uuid, account_code: subscription.account.code };
  const at = (stated: string | null | undefined) => stated ?? subscription.updated_at;
  switch (subscription.state) {
    case 'canceled':
      return [{ eventType: 'canceled', at: at(subscription.canceled_at), body }];
    case 'expired':
    case 'failed':
      return [{ eventType: 'expired', at: at(subscription.expires_at), body }];
    case 'paused':
      return [{ eventType: 'paused', at: at(subscription.paused_at), body }];
    case 'active': {
      const started = subscription.current_period_started_at;
      if (!started) return [];
      const firstPeriod = subscription.activated_at ?? subscription.created_at;
      // Its first period: neither renewed nor (Recurly pauses at a renewal) ever paused.
      if (firstPeriod && Date.parse(started) <= Date.parse(firstPeriod) + 1000) return [];
      return [{ eventType: 'renewed', at: started, body }, { eventType: 'resumed', at: started, body }];
    }
    default:
      return [];
  }
}

/**
 * The notification an invoice's state stands for: `past_due` is Recurly's `invoice.past_due`; `paid`,
 * `failed` and `voided` are its `invoice.closed`, whose outcome the workflow asks Recurly for, as it
 * does for the webhook (which does not say it either). `pending` and `processing` are nothing yet.
 */
export function invoiceNotifications(invoice: ListedRecurlyInvoice): StateNotification[] {
  const body = { object_type: 'invoice', account_code: invoice.account.code, invoice_number: invoice.number };
  if (invoice.state === 'past_due') return [{ eventType: 'past_due', at: invoice.updated_at, body }];
  if (['paid', 'failed', 'voided'].includes(invoice.state)) return [{ eventType: 'closed', at: invoice.closed_at ?? invoice.updated_at, body }];
  return [];
}

/** `recurly-state:<object>:<key>:<state>:<since>`: the same state of the same record, the same id. */
export function reconciledId(objectType: string, key: string, eventType: string, at: string): string {
  return `recurly-state:${objectType}:${key}:${eventType}:${new Date(at).toISOString()}`;
}

function logged(recordId: string, key: string, updatedAt: string, notification: StateNotification): LoggedEvent {
  const { eventType, at, body } = notification;
  const eventTime = new Date(at).toISOString();
  const id = reconciledId(body.object_type ?? '', key, eventType, at);
  return {
    id,
    createdAtMs: Date.parse(updatedAt),
    body: JSON.stringify({ id: recordId, ...body, event_type: eventType, event_time: eventTime }),
    headers: { 'recurly-notification-id': id },
    fromState: true,
  };
}

/** Recurly's subscriptions and invoices changed since a time, as the notifications their states stand for. */
export function recurlyEventLog(options: RecurlyOptions): ProviderEventLog {
  return {
    async since(since: Date): Promise<LoggedEvent[]> {
      const [subscriptions, invoices] = await Promise.all([
        listRecurlyUpdatedSince(options, 'subscriptions', since, listedSubscription),
        listRecurlyUpdatedSince(options, 'invoices', since, listedInvoice),
      ]);
      const events = [
        ...subscriptions.flatMap((subscription) => subscriptionNotifications(subscription).map((notification) => logged(subscription.id, subscription.uuid, subscription.updated_at, notification))),
        ...invoices.flatMap((invoice) => invoiceNotifications(invoice).map((notification) => logged(invoice.id, invoice.number, invoice.updated_at, notification))),
      ];
      // Both lists are oldest first; so is their merge (a stable sort keeps each record's own order).
      return events.sort((a, b) => a.createdAtMs - b.createdAtMs);
    },
  };
}
