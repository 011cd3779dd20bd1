import type { ProviderName } from '../../src/core/events';

export interface WinBackOffer {
  provider: ProviderName;
  subscriptionId: string;
  customerId: string;
  /** The same for every attempt at one offer: pass it to your mailer or CRM to send it once. */
  idempotencyKey: string;
}

/**
 * The win-back example's one side effect. `send` is yours: a mailer, a CRM, a queue. Register
 * the result with the worker next to billflow's activities:
 * `{ ...createActivities(deps), ...createWinBackActivities(send) }`.
 */
export function createWinBackActivities(send: (offer: WinBackOffer) => Promise<void>) {
  return {
    async recordWinBackOffer(offer: WinBackOffer): Promise<void> {
      await send(offer);
    },
  };
}

export type WinBackActivities = ReturnType<typeof createWinBackActivities>;
