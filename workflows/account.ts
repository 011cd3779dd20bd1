import { defineQuery, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BillingEvent, ProviderName } from '../src/core/events';
import { activityOptions } from './activity-options';
import { isFinalFailure } from './failures';
import { continueAsNewWith } from './building-blocks';
import { billingCustomerKey, billingStatusKey } from './definitions';
import { EventInbox, type InboxCarry } from './event-inbox';
import { showDetails, ShownSearchAttributes } from './web-ui';

export interface AccountSnapshot {
  provider: ProviderName;
  accountId: string;
  closed: boolean;
  lastEvent?: { id: string; type: string; occurredAt: string; outcome: string };
  eventsApplied: number;
}

export interface AccountWorkflowInput {
  provider: ProviderName;
  /** The provider's account (Recurly account code, BillForward account) or customer id. */
  accountId: string;
  maxSignalsPerRun?: number;
  carried?: { account: AccountSnapshot; inbox: InboxCarry };
}

export const accountStateQuery = defineQuery<AccountSnapshot>('accountState');

const { endAccountAccess, recordAccountEvent, getAccountStatus } = proxyActivities<Activities>(activityOptions);

/**
 * One workflow per customer account at a provider, for account-level events: a closed account
 * (`account.closed`) loses access for good, once the provider confirms it is closed — a closed
 * account's notification can arrive after the account was reopened (Recurly retries it). Closing
 * is final, so no later event reopens it.
 */
export async function accountWorkflow(input: AccountWorkflowInput): Promise<void> {
  const account: AccountSnapshot = input.carried?.account ?? { provider: input.provider, accountId: input.accountId, closed: false, eventsApplied: 0 };
  const inbox = new EventInbox(input.carried?.inbox, { maxSignalsPerRun: input.maxSignalsPerRun });
  inbox.listen();
  setHandler(accountStateQuery, () => account);
  const attributes = new ShownSearchAttributes();
  attributes.holdBackStartingState(inbox.hasPending());
  const show = () => {
    // Histories recorded before upserting only on change upserted after every event, and replay that way.
    attributes.update(
      [
        { key: billingCustomerKey, value: account.accountId },
        { key: billingStatusKey, value: account.closed ? 'closed' : 'active' },
      ],
      () => patched('account-upserts-on-change'),
    );
    showDetails({ subject: `${account.provider} account ${account.accountId}`, standing: account.closed ? '**closed**' : 'open', lastEvent: account.lastEvent });
  };
  show();

  for (let event = await inbox.next(); event; event = await inbox.next()) {
    account.eventsApplied += 1;
    account.lastEvent = { id: event.id, type: event.type, occurredAt: event.occurredAt, outcome: await inbox.inTraceOf(event, () => apply(event, account)) };
    show();
  }
  await continueAsNewWith<typeof accountWorkflow>({ ...input, carried: { account, inbox: inbox.carry() } });
}

async function apply(event: BillingEvent, account: AccountSnapshot): Promise<string> {
  if (event.kind !== 'account.closed') return 'recorded';
  if (account.closed) return 'ignored: already closed';
  // The account reference first: Recurly's and BillForward's accounts are the customers the store keys.
  const customerId = event.references.account ?? event.references.customer ?? account.accountId;
  // Confirmed first; histories recorded before ended access on the webhook alone, and replay so.
  if (patched('account-closed-confirmed')) {
    const atProvider = await accountAtProvider(account);
    if (atProvider?.closed === false) {
      const why = `${event.type} not confirmed: ${event.provider} shows account ${account.accountId} ${atProvider.providerStatus}`;
      await recordAccountEvent({ provider: event.provider, customerId, reason: why, eventId: event.id });
      return `ignored: ${why}; access kept`;
    }
  }
  await endAccountAccess({ provider: event.provider, customerId, reason: event.type, eventId: event.id });
  account.closed = true;
  return 'access ended: account closed';
}

/** The account as the provider shows it; undefined where it cannot be read (no account API, or an account it does not know): then the verified webhook stands. */
async function accountAtProvider(account: AccountSnapshot): Promise<{ closed: boolean; providerStatus: string } | undefined> {
  try {
    return await getAccountStatus({ provider: account.provider, accountId: account.accountId });
  } catch (error) {
    if (!isFinalFailure(error)) throw error;
    return undefined;
  }
}
