import type { DeadLetterInput } from '../src/core/dead-letters';
import type { DeadLetterStore } from '../src/store/dead-letter-store';

export type { DeadLetterInput } from '../src/core/dead-letters';

/**
 * Workflows keep what they could not act on (a payment of no subscription, an event refused for
 * good) through this activity; the receiver does the same through `deadLetterWorkflow` when it has
 * no database of its own. Safe to retry: a repeat is the same dead letter, seen once more.
 */
export function createDeadLetterActivities(store: DeadLetterStore) {
  return {
    async recordDeadLetter(input: DeadLetterInput): Promise<{ id: string }> {
      const { id } = await store.record(input);
      return { id };
    },
  };
}
