/** How a subscription workflow runs its processes; fixed when the workflow starts, carried across runs. */
export interface SubscriptionPolicy {
  /**
   * Delays before each retry of a failed payment, in milliseconds: the first counts from the
   * failure, each next one from the failure of the retry before it. Its length is the number of
   * retries before the account is suspended.
   */
  dunningScheduleMs: number[];
  /** The provider runs its own dunning (Recurly, Stripe set up so; CCBill always): billflow never retries. */
  providerManagedDunning: boolean;
  /** Cancel the subscription at the provider once the schedule is exhausted. */
  cancelAtProviderWhenExhausted: boolean;
  /** Time between the schedule running out and the account's suspension, in milliseconds. */
  suspensionGraceMs: number;
  /**
   * Wait before a retry is attempted again under a new key, after the provider replayed a server
   * error for its key; doubled at each new attempt, at most an hour. One minute when absent
   * (workflows started before there was this setting).
   */
  reattemptDelayMs?: number;
  /** What a chargeback does: suspend the account (confirmed first), or only record it; `suspend` when absent. */
  chargebackReaction?: 'suspend' | 'record';
  /** A paused subscription's account loses access until it resumes; true when absent (policies made before the setting). */
  pausedMeansNoAccess?: boolean;
  /**
   * How long past the time a provider promised its own retry billflow waits for the outcome before
   * asking the provider for the payment's status; the defaults below when absent (workflows
   * started before there was this setting).
   */
  providerRetryMarginMs?: number;
  /** How long billflow waits for a provider that retries by itself but names no time, before asking it. */
  providerRetryWaitMs?: number;
  /** Signals one run takes before continuing as new; the inbox's default when absent. */
  maxSignalsPerRun?: number;
}

const day = 24 * 60 * 60 * 1000;

export const defaultReattemptDelayMs = 60_000;
export const defaultProviderRetryMarginMs = day;
export const defaultProviderRetryWaitMs = 3 * day;

export const defaultSubscriptionPolicy: SubscriptionPolicy = {
  dunningScheduleMs: [3 * day, 5 * day, 7 * day],
  providerManagedDunning: false,
  cancelAtProviderWhenExhausted: false,
  suspensionGraceMs: 0,
  reattemptDelayMs: defaultReattemptDelayMs,
  pausedMeansNoAccess: true,
  chargebackReaction: 'suspend',
  providerRetryMarginMs: defaultProviderRetryMarginMs,
  providerRetryWaitMs: defaultProviderRetryWaitMs,
};
