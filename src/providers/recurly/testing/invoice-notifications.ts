import { hexId } from '../../../testing/webhooks/ids';
import type { TriggerReferences } from '../../../testing/webhooks/types';

/*
 * Recurly's invoice and dunning notifications, as `trigger` sends them: the JSON ones name the
 * invoice by its number only; the legacy XML ones carry the account, the invoice (its state, its
 * subscriptions) and, for a dunning event, the subscription — shaped as Recurly's docs show them.
 */

/** The JSON events about an invoice, and the state the invoice is in once each has happened. */
export const jsonInvoiceStates: Record<string, string> = {
  'invoice.past_due': 'past_due',
  'dunning_event.created': 'past_due',
  // The dunning ran out: the invoice closes unpaid (Recurly's `failed`).
  'invoice.closed': 'failed',
};

/** The XML notifications about an invoice: the invoice's state at Recurly (v3) and as the XML writes it (v2). */
export const xmlInvoiceStates: Record<string, { api: string; xml: string }> = {
  past_due_invoice_notification: { api: 'past_due', xml: 'past_due' },
  past_due_charge_invoice_notification: { api: 'past_due', xml: 'past_due' },
  new_dunning_event_notification: { api: 'past_due', xml: 'past_due' },
  closed_invoice_notification: { api: 'failed', xml: 'failed' },
  failed_charge_invoice_notification: { api: 'failed', xml: 'failed' },
};

export const isXmlNotification = (event: string): boolean => event in xmlInvoiceStates;

/** The XML body of `event` (one of `xmlInvoiceStates`) about the references' invoice, account and subscription. */
export function invoiceNotificationXml(event: string, references: TriggerReferences, now: Date): string {
  const state = xmlInvoiceStates[event]?.xml ?? 'past_due';
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const closed = state === 'failed' || state === 'collected';
  const subscription = references.subscription
    ? [
        '  <subscription>',
        '    <plan>',
        '      <plan_code>gold</plan_code>',
        '      <name>Gold</name>',
        '    </plan>',
        `    <uuid>${references.subscription}</uuid>`,
        '    <state>active</state>',
        '    <quantity type="integer">1</quantity>',
        `    <current_period_started_at type="datetime">${at}</current_period_started_at>`,
        `    <current_period_ends_at type="datetime">${new Date(now.getTime() + 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z')}</current_period_ends_at>`,
        '  </subscription>',
      ]
    : [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<${event}>`,
    '  <account>',
    `    <account_code>${references.customer}</account_code>`,
    '    <email>verena@example.com</email>',
    '  </account>',
    '  <invoice>',
    `    <uuid>${hexId(32)}</uuid>`,
    `    <state>${state}</state>`,
    '    <origin>renewal</origin>',
    `    <invoice_number type="integer">${references.invoice}</invoice_number>`,
    '    <currency>USD</currency>',
    '    <balance_in_cents type="integer">4500</balance_in_cents>',
    '    <total_in_cents type="integer">4500</total_in_cents>',
    ...(references.subscription ? ['    <subscription_ids type="array">', `      <subscription_id>${references.subscription}</subscription_id>`, '    </subscription_ids>'] : []),
    `    <created_at type="datetime">${at}</created_at>`,
    `    <updated_at type="datetime">${at}</updated_at>`,
    closed ? `    <closed_at type="datetime">${at}</closed_at>` : '    <closed_at type="datetime" nil="true"></closed_at>',
    ...(event === 'new_dunning_event_notification' ? ['    <dunning_events_count type="integer">1</dunning_events_count>', '    <final_dunning_event type="boolean">false</final_dunning_event>'] : []),
    '    <collection_method>automatic</collection_method>',
    '  </invoice>',
    ...subscription,
    `</${event}>`,
    '',
  ].join('\n');
}
