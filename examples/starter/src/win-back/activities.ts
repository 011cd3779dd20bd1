import type { ProviderName } from 'billflow';

export interface WinBackOffer {
  provider: ProviderName;
  subscriptionId: string;
  customerId: string;
  /** The same for every attempt at one offer: pass it to your mailer or CRM to send it once. */
  idempotencyKey: string;
}

/**
 * The win-back workflow's one side effect. `send` is yours: a mailer, a CRM, a queue. `../worker.ts`
 * registers the result next to billflow's activities.
 */
export function createWinBackActivities(send: (offer: WinBackOffer) => Promise<void>) {
  return {
    async recordWinBackOffer(offer: WinBackOffer): Promise<void> {
      await send(offer);
    },
  };
}

export type WinBackActivities = ReturnType<typeof createWinBackActivities>;
