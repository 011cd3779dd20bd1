import { patched } from '@temporalio/workflow';
import { billingCustomerKey, billingStatusKey } from '../definitions';
import { showDetails, ShownSearchAttributes } from '../web-ui';
import type { MandateState } from './state';

/** Keeps the Web UI's list filters and the workflow's details in step with the state. */
export class ShownMandate {
  private readonly attributes = new ShownSearchAttributes();

  /** @param firstEventIn whether the workflow's first event is already in: its starting state's upsert is left out then. */
  constructor(firstEventIn = false) {
    this.attributes.holdBackStartingState(firstEventIn);
  }

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
