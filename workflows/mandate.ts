import {
  condition,
  defineQuery,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BillingMandate } from '../src/core/billing';
import type { BillingEvent, ProviderName } from '../src/core/events';
import { activityOptions } from './activity-options';
import { continueAsNewWith } from './building-blocks';
import { billingCustomerKey, billingStatusKey } from './definitions';
import { EventInbox, type InboxCarry } from './event-inbox';
import { factsOf } from './facts';
import { isFinalFailure } from './failures';
import { showDetails, ShownSearchAttributes } from './web-ui';
import { MandateState, type MandateSnapshot } from './mandate-state';
import { recordedMandate } from './recorded';

export interface MandateWorkflowInput {
  provider: ProviderName;
  mandateId: string;
  /** Time between a confirmed cancellation and the suspension (ms); at once when absent or 0. */
  suspensionGraceMs?: number;
  /** Signals one run takes before continuing as new; the inbox's default when absent. */
  maxSignalsPerRun?: number;
  /** Set only by continue-as-new: the previous run's state and inbox. */
  carried?: { mandate: MandateSnapshot; inbox: InboxCarry };
}

export const mandateStateQuery = defineQuery<MandateSnapshot>('mandateState');

const scheduled = proxyActivities<Activities>(activityOptions);
// A mandate event takes two short calls (confirm at GoCardless, change the account). As local
// activities they run inside the workflow task that decided them: one task per event instead of
// three plus two activity tasks, which was most of Temporal's work per event. Both calls are
// idempotent, so the re-run after a lost task that local activities allow is harmless.
const local = proxyLocalActivities<Activities>(activityOptions);

/** Histories recorded before local activities replay with the activity tasks they scheduled. */
function mandateActivities(): Pick<Activities, 'getMandateStatus' | 'getGoCardlessMandate' | 'suspendAccount' | 'reinstateAccount'> {
  return patched('mandate-local-activities') ? local : scheduled;
}

/**
 * One workflow per mandate, alive as long as the mandate: suspends the customer's account when
 * the mandate is cancelled, fails or expires, and reinstates it when the mandate comes back.
 */
export async function mandateWorkflow(input: MandateWorkflowInput): Promise<void> {
  const mandate = new MandateState(
    input.carried?.mandate ?? { provider: input.provider, mandateId: input.mandateId, access: 'active', eventsApplied: 0, duplicatesDropped: 0 },
  );
  const inbox = new EventInbox(input.carried?.inbox, { maxSignalsPerRun: input.maxSignalsPerRun });
  inbox.listen();
  setHandler(mandateStateQuery, () => mandate.snapshot(mandate.snapshot().duplicatesDropped + inbox.duplicatesDropped));
  const shown = new ShownMandate();
  shown.update(mandate);

  const graceMs = input.suspensionGraceMs ?? 0;
  while (!inbox.shouldContinueAsNew()) {
    const pending = mandate.pendingSuspension;
    if (pending && pending.dueAt <= Date.now()) {
      await suspendAfterGrace(pending.event, mandate);
      shown.update(mandate);
      continue;
    }
    const ready = () => inbox.hasPending() || inbox.shouldContinueAsNew();
    if (pending) await condition(ready, pending.dueAt - Date.now());
    else await condition(ready);
    const event = inbox.take();
    if (event) {
      await apply(event, mandate, graceMs);
      shown.update(mandate);
    }
  }

  const snapshot = mandate.snapshot(mandate.snapshot().duplicatesDropped + inbox.duplicatesDropped);
  await continueAsNewWith<typeof mandateWorkflow>({ ...input, carried: { mandate: snapshot, inbox: inbox.carry() } });
}

async function apply(event: BillingEvent, mandate: MandateState, graceMs: number): Promise<void> {
  if (mandate.isStale(event)) {
    mandate.recordOutcome(event, 'ignored: older than the current state');
    return;
  }
  switch (event.kind) {
    case 'mandate.cancelled':
    case 'mandate.failed':
    case 'mandate.expired':
      return suspendIfConfirmed(event, mandate, graceMs);
    case 'mandate.reinstated':
      return reinstateIfConfirmed(event, mandate);
    case 'mandate.replaced':
      // Workflows that recorded a replacement before this branch existed replay it as recorded.
      if (patched('mandate-replacement-reinstates')) return reinstateOnReplacement(event, mandate);
      mandate.recordOutcome(event, 'recorded');
      return;
    default:
      mandate.recordOutcome(event, 'recorded');
  }
}

async function suspendIfConfirmed(event: BillingEvent, mandate: MandateState, graceMs: number): Promise<void> {
  // Webhooks arrive late and out of order: ask the provider before doing anything destructive.
  const current = await confirmMandate(event, mandate);
  if (!current || current.usable) {
    mandate.recordOutcome(event, `not suspended: mandate is ${current?.status ?? 'unknown'} at the provider`);
    return;
  }
  if (graceMs > 0 && mandate.access === 'active') {
    const dueAt = mandate.pendingSuspension?.dueAt ?? Date.now() + graceMs;
    if (!mandate.pendingSuspension) mandate.scheduleSuspension(dueAt, event);
    mandate.recordOutcome(event, `suspension scheduled at ${new Date(dueAt).toISOString()}, after the grace period`);
    return;
  }
  await mandateActivities().suspendAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
  mandate.changeAccess('suspended', event);
  mandate.recordOutcome(event, 'account suspended');
}

async function reinstateIfConfirmed(event: BillingEvent, mandate: MandateState): Promise<void> {
  const current = await confirmMandate(event, mandate);
  if (!current || !current.usable) {
    mandate.recordOutcome(event, `not reinstated: mandate is ${current?.status ?? 'unknown'} at the provider`);
    return;
  }
  if (mandate.pendingSuspension && mandate.access === 'active') {
    mandate.cancelSuspension(event);
    mandate.recordOutcome(event, 'pending suspension cancelled: the mandate is back');
    return;
  }
  await mandateActivities().reinstateAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
  mandate.changeAccess('active', event);
  mandate.recordOutcome(event, 'account reinstated');
}

/** The grace period is over: suspends if the provider still says the mandate is unusable. */
async function suspendAfterGrace(event: BillingEvent, mandate: MandateState): Promise<void> {
  mandate.cancelSuspension();
  const current = await confirmMandate(event, mandate);
  if (!current || current.usable) {
    mandate.recordLaterOutcome(event, `not suspended after the grace period: mandate is ${current?.status ?? 'unknown'} at the provider`);
    return;
  }
  await mandateActivities().suspendAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
  mandate.changeAccess('suspended', event);
  mandate.recordLaterOutcome(event, 'account suspended after the grace period');
}

/** A replacement mandate that can be charged brings the account back. */
async function reinstateOnReplacement(event: BillingEvent, mandate: MandateState): Promise<void> {
  const replacement = factsOf(event).replacementMandate;
  if (mandate.pendingSuspension && mandate.access === 'active') {
    mandate.cancelSuspension(event);
    mandate.recordOutcome(event, `pending suspension cancelled: replaced by mandate ${replacement ?? '(unnamed)'}`);
    return;
  }
  if (mandate.access !== 'suspended' || replacement === undefined) {
    mandate.recordOutcome(event, 'recorded');
    return;
  }
  const current = await confirmMandate({ ...event, references: { ...event.references, mandate: replacement } }, mandate);
  if (!current || !current.usable) {
    mandate.recordOutcome(event, `not reinstated: replacement mandate ${replacement} is ${current?.status ?? 'unknown'} at the provider`);
    return;
  }
  await mandateActivities().reinstateAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
  mandate.changeAccess('active', event);
  mandate.recordOutcome(event, `account reinstated: replaced by mandate ${replacement}`);
}

/** The mandate as the provider has it now; undefined when the provider refuses for good (it does not know the mandate). */
async function confirmMandate(event: BillingEvent, mandate: MandateState): Promise<BillingMandate | undefined> {
  const mandateId = event.references.mandate ?? mandate.snapshot().mandateId;
  try {
    const activities = mandateActivities();
    // Histories recorded before the provider-neutral call replay with the GoCardless one.
    const current = patched('mandate-provider-neutral-status')
      ? await activities.getMandateStatus({ provider: event.provider, mandateId })
      : recordedMandate(await activities.getGoCardlessMandate(mandateId));
    mandate.confirmed(current.status, current.customerId);
    return current;
  } catch (error) {
    // Retryable failures are retried by Temporal; one that is not (the provider does not know the
    // mandate) leaves the account as it is.
    if (!isFinalFailure(error)) throw error;
    log.warn('Mandate could not be confirmed', { mandateId, eventId: event.id, error: String(error) });
    return undefined;
  }
}

/** Keeps the Web UI's list filters and the workflow's details in step with the state. */
class ShownMandate {
  private readonly attributes = new ShownSearchAttributes();

  update(mandate: MandateState): void {
    const snapshot = mandate.snapshot();
    // Histories recorded before upserting only on change upserted after every event, and replay that way.
    this.attributes.update(
      [{ key: billingStatusKey, value: snapshot.access }, ...(snapshot.customerId ? [{ key: billingCustomerKey, value: snapshot.customerId }] : [])],
      () => patched('mandate-upserts-on-change'),
    );
    showDetails({
      subject: `${snapshot.provider} mandate ${snapshot.mandateId}`,
      standing: `customer ${snapshot.customerId ?? 'not yet known'}, account **${snapshot.access}**`,
      next: snapshot.pendingSuspension && `suspend the account at ${new Date(snapshot.pendingSuspension.dueAt).toISOString()} unless the mandate comes back`,
      lastEvent: snapshot.lastEvent,
    });
  }
}
