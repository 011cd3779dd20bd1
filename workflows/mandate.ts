import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BillingEvent, ProviderName } from '../src/events';
import { billingCustomerKey, billingStatusKey } from './definitions';
import { EventInbox, type InboxCarry } from './event-inbox';
import { MandateState, type MandateSnapshot } from './mandate-state';

export interface MandateWorkflowInput {
  provider: ProviderName;
  mandateId: string;
  /** Set only by continue-as-new: the previous run's state and inbox. */
  carried?: { mandate: MandateSnapshot; inbox: InboxCarry };
}

export const mandateStateQuery = defineQuery<MandateSnapshot>('mandateState');

const { getGoCardlessMandate, suspendAccount, reinstateAccount } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** GoCardless mandate statuses in which the customer can no longer be charged. */
const unusableStatuses = new Set(['cancelled', 'failed', 'expired', 'consumed', 'blocked', 'suspended_by_payer']);

/**
 * One workflow per mandate, alive as long as the mandate: suspends the customer's account when
 * the mandate is cancelled, fails or expires, and reinstates it when the mandate comes back.
 */
export async function mandateWorkflow(input: MandateWorkflowInput): Promise<void> {
  const mandate = new MandateState(
    input.carried?.mandate ?? { provider: input.provider, mandateId: input.mandateId, access: 'active', eventsApplied: 0, duplicatesDropped: 0 },
  );
  const inbox = new EventInbox(input.carried?.inbox);
  inbox.listen();
  setHandler(mandateStateQuery, () => mandate.snapshot(mandate.snapshot().duplicatesDropped + inbox.duplicatesDropped));
  describe(mandate);

  while (!inbox.shouldContinueAsNew()) {
    await condition(() => inbox.hasPending() || inbox.shouldContinueAsNew());
    const event = inbox.take();
    if (event) {
      await apply(event, mandate);
      describe(mandate);
    }
  }

  await condition(allHandlersFinished);
  const snapshot = mandate.snapshot(mandate.snapshot().duplicatesDropped + inbox.duplicatesDropped);
  await continueAsNew<typeof mandateWorkflow>({ ...input, carried: { mandate: snapshot, inbox: inbox.carry() } });
}

async function apply(event: BillingEvent, mandate: MandateState): Promise<void> {
  if (mandate.isStale(event)) {
    mandate.recordOutcome(event, 'ignored: older than the current state');
    return;
  }
  switch (event.kind) {
    case 'mandate.cancelled':
    case 'mandate.failed':
    case 'mandate.expired':
      return suspendIfConfirmed(event, mandate);
    case 'mandate.reinstated':
      return reinstateIfConfirmed(event, mandate);
    default:
      mandate.recordOutcome(event, 'recorded');
  }
}

async function suspendIfConfirmed(event: BillingEvent, mandate: MandateState): Promise<void> {
  // Webhooks arrive late and out of order: ask the provider before doing anything destructive.
  const current = await confirmMandate(event, mandate);
  if (!current || !unusableStatuses.has(current.status)) {
    mandate.recordOutcome(event, `not suspended: mandate is ${current?.status ?? 'unknown'} at the provider`);
    return;
  }
  await suspendAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
  mandate.changeAccess('suspended', event);
  mandate.recordOutcome(event, 'account suspended');
}

async function reinstateIfConfirmed(event: BillingEvent, mandate: MandateState): Promise<void> {
  const current = await confirmMandate(event, mandate);
  if (!current || unusableStatuses.has(current.status)) {
    mandate.recordOutcome(event, `not reinstated: mandate is ${current?.status ?? 'unknown'} at the provider`);
    return;
  }
  await reinstateAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
  mandate.changeAccess('active', event);
  mandate.recordOutcome(event, 'account reinstated');
}

async function confirmMandate(event: BillingEvent, mandate: MandateState) {
  const mandateId = event.references.mandate ?? mandate.snapshot().mandateId;
  try {
    const current = await getGoCardlessMandate(mandateId);
    mandate.confirmed(current.status, current.customerId);
    return current;
  } catch (error) {
    // Retryable failures are retried by Temporal; one that is not (the provider does not know the
    // mandate) leaves the account as it is.
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable) {
      log.warn('Mandate could not be confirmed', { mandateId, eventId: event.id, error: String(error) });
      return undefined;
    }
    throw error;
  }
}

/** Keeps the Web UI's list filters and the workflow's details in step with the state. */
function describe(mandate: MandateState): void {
  const snapshot = mandate.snapshot();
  upsertSearchAttributes([
    { key: billingStatusKey, value: snapshot.access },
    ...(snapshot.customerId ? [{ key: billingCustomerKey, value: snapshot.customerId }] : []),
  ]);
  const last = snapshot.lastEvent ? `\n\nLast event: ${snapshot.lastEvent.type} (${snapshot.lastEvent.id}) → ${snapshot.lastEvent.outcome}` : '';
  setCurrentDetails(
    `**${snapshot.provider} mandate ${snapshot.mandateId}** — customer ${snapshot.customerId ?? 'not yet known'}, account **${snapshot.access}**${last}`,
  );
}
