import type { ProviderName } from '../../src/core/events';
import { billingCustomerKey, billingProviderKey, billingStatusKey } from '../definitions';
import { showDetails, ShownSearchAttributes } from '../web-ui';
import type { SubscriptionState } from './state';

/** Keeps the Web UI's search attributes and current details in step with the state. */
export class ShownSubscription {
  private readonly attributes = new ShownSearchAttributes();

  /** @param firstEventIn whether the workflow's first event is already in: its starting state's upsert is left out then. */
  constructor(
    private readonly provider: ProviderName,
    firstEventIn = false,
  ) {
    this.attributes.holdBackStartingState(firstEventIn);
  }

  update(subscription: SubscriptionState): void {
    const view = subscription.view();
    this.attributes.update([
      { key: billingProviderKey, value: this.provider },
      { key: billingStatusKey, value: view.status },
      ...(view.customerId ? [{ key: billingCustomerKey, value: view.customerId }] : []),
    ]);
    showDetails({
      subject: `${view.provider} subscription ${view.subscriptionId}`,
      standing: `customer ${view.customerId ?? 'not yet known'}, **${view.status}**`,
      items: view.dunning.map((open) => `dunning ${open.key}: ${open.stage.replace(/_/g, ' ')}, ${open.retriesMade} of ${view.dunningSteps} retries made`),
      next: view.nextAction && `${view.nextAction.action}${view.nextAction.at ? ` at ${view.nextAction.at}` : ''}`,
      lastEvent: view.lastEvent,
      lastStep: view.lastAction,
    });
  }
}
