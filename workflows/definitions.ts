import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BillingEvent, ProviderName, UnusableEvent } from '../src/core/events';

/** The one signal billflow sends: every normalised event reaches its entity workflow through it. */
export const billingEventSignal = defineSignal<[BillingEvent]>('billingEvent');

/**
 * Whether a workflow's inbox has taken an event with this id: how catch-up tells an event that also
 * came by webhook (a duplicate) from one it recovered.
 */
export const billingEventSeenQuery = defineQuery<boolean, [string]>('billingEventSeen');

/** The receiver's record of an entry of a delivery it could not use, to the provider's dead letters. */
export const unusableEventSignal = defineSignal<[UnusableEvent]>('unusableEvent');

/** Search attributes billflow keeps up to date so the Web UI can filter on them. */
export const billingProviderKey = defineSearchAttributeKey('BillingProvider', 'KEYWORD');
export const billingCustomerKey = defineSearchAttributeKey('BillingCustomer', 'KEYWORD');
export const billingStatusKey = defineSearchAttributeKey('BillingStatus', 'KEYWORD');

/** `<provider>:<subject>:<id>`, e.g. `gocardless:mandate:MD000123`: the id of an entity workflow. */
export function entityWorkflowId(provider: ProviderName, subject: string, id: string): string {
  return `${provider}:${subject}:${id}`;
}
