import { ApplicationFailure } from '@temporalio/common';
import { failureTypes } from '../src/core/failures';
import type { AccountChangeInput, AccountStore, ChangeResult, PauseInput, ReinstateInput, SuspendInput, UsageResetInput } from '../src/store/account-store';

export type { AccountChangeInput, ChangeResult, PauseInput, ReinstateInput, SuspendInput, UsageResetInput } from '../src/store/account-store';

/**
 * What an account activity returns: the store's answer and the event behind it. A local activity's
 * history entry keeps its result but not its input, so the event id is repeated here for anyone
 * auditing from the history which change a workflow made.
 */
export interface AccountActivityResult extends ChangeResult {
  eventId: string;
}

/** Activities over the merchant's account store. Each is safe to retry: it applies at most once per event. */
export function createAccountActivities(store: AccountStore) {
  return {
    async suspendAccount(input: SuspendInput): Promise<AccountActivityResult> {
      return { ...(await store.suspend(checked(input))), eventId: input.eventId };
    },
    async reinstateAccount(input: ReinstateInput): Promise<AccountActivityResult> {
      return { ...(await store.reinstate(checked(input))), eventId: input.eventId };
    },
    async pauseAccount(input: PauseInput): Promise<AccountActivityResult> {
      return { ...(await store.pause(checked(input))), eventId: input.eventId };
    },
    async resumeAccount(input: AccountChangeInput): Promise<AccountActivityResult> {
      return { ...(await store.resume(checked(input))), eventId: input.eventId };
    },
    /** Notes an event (a refund, a chargeback only recorded) in the account's history, changing nothing. */
    async recordAccountEvent(input: AccountChangeInput): Promise<AccountActivityResult> {
      return { ...(await store.record(checked(input))), eventId: input.eventId };
    },
    async resetAccountUsage(input: UsageResetInput): Promise<AccountActivityResult> {
      if (!input.periodKey) throw ApplicationFailure.nonRetryable('periodKey is required', failureTypes.invalidAccountChange);
      return { ...(await store.resetUsage(checked(input))), eventId: input.eventId };
    },
    async endAccountAccess(input: AccountChangeInput): Promise<AccountActivityResult> {
      return { ...(await store.endAccess(checked(input))), eventId: input.eventId };
    },
  };
}

/** A change without a customer, an event id or a reason is a workflow bug no retry can fix. */
function checked<Input extends AccountChangeInput>(input: Input): Input {
  for (const field of ['provider', 'customerId', 'eventId', 'reason'] as const) {
    if (!input[field]) throw ApplicationFailure.nonRetryable(`${field} is required`, failureTypes.invalidAccountChange);
  }
  return input;
}
