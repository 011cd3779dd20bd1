import { ApplicationFailure } from '@temporalio/common';
import type { AccountChangeInput, AccountStore, ChangeResult, UsageResetInput } from './account-store';

export type { AccountChangeInput, ChangeResult, UsageResetInput } from './account-store';

/** Activities over the merchant's account store. Each is safe to retry: it applies at most once per event. */
export function createAccountActivities(store: AccountStore) {
  return {
    async suspendAccount(input: AccountChangeInput): Promise<ChangeResult> {
      return store.suspend(checked(input));
    },
    async reinstateAccount(input: AccountChangeInput): Promise<ChangeResult> {
      return store.reinstate(checked(input));
    },
    async resetAccountUsage(input: UsageResetInput): Promise<ChangeResult> {
      if (!input.periodKey) throw ApplicationFailure.nonRetryable('periodKey is required', 'InvalidAccountChange');
      return store.resetUsage(checked(input));
    },
    async endAccountAccess(input: AccountChangeInput): Promise<ChangeResult> {
      return store.endAccess(checked(input));
    },
  };
}

/** A change without a customer, an event id or a reason is a workflow bug no retry can fix. */
function checked<Input extends AccountChangeInput>(input: Input): Input {
  for (const field of ['provider', 'customerId', 'eventId', 'reason'] as const) {
    if (!input[field]) throw ApplicationFailure.nonRetryable(`${field} is required`, 'InvalidAccountChange');
  }
  return input;
}
