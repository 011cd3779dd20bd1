import { condition, defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ProviderName, UnusableEvent } from '../src/core/events';
import { continueAsNewWith } from './building-blocks';
import { unusableEventSignal } from './definitions';
import { showDetails } from './web-ui';

export interface DeadLetters {
  /** Every unusable entry recorded since this workflow first started. */
  total: number;
  /** The latest ones, oldest first (at most `keptDeadLetters`). */
  latest: UnusableEvent[];
}

export const deadLettersQuery = defineQuery<DeadLetters>('deadLetters');

export interface DeadLettersInput {
  provider: ProviderName;
  carried?: DeadLetters;
}

/** How many records are kept: enough to see what went wrong, bounded whatever a provider sends. */
export const keptDeadLetters = 200;
const signalsPerRun = 1000;

/** A delivery's entry, however often the delivery was retried. */
const keyOf = (record: UnusableEvent) => `${record.deliveryId ?? ''}/${record.index}/${record.id ?? ''}`;

/**
 * `<provider>:dead-letters:webhooks`: the entries of verified deliveries that could not be made into
 * events (a malformed event in a GoCardless batch), each with its reason — what an operator looks
 * at (query `deadLetters`, or the Web UI's current details) while the rest of each batch went on.
 */
export async function deadLettersWorkflow(input: DeadLettersInput): Promise<void> {
  const state: DeadLetters = input.carried ?? { total: 0, latest: [] };
  let received = 0;
  const show = () => {
    const last = state.latest.at(-1);
    showDetails({
      subject: `${input.provider} dead letters`,
      standing: `**${state.total}** unusable ${state.total === 1 ? 'entry' : 'entries'} of verified deliveries`,
      ...(last ? { lastEvent: { type: `entry ${last.index}${last.deliveryId ? ` of ${last.deliveryId}` : ''}`, id: last.id ?? 'no id', outcome: last.reason } } : {}),
    });
  };
  setHandler(unusableEventSignal, (record) => {
    received += 1;
    if (state.latest.some((kept) => keyOf(kept) === keyOf(record))) return;
    state.total += 1;
    state.latest.push(record);
    if (state.latest.length > keptDeadLetters) state.latest.shift();
    show();
  });
  setHandler(deadLettersQuery, () => state);
  show();
  await condition(() => received >= signalsPerRun || workflowInfo().continueAsNewSuggested);
  await continueAsNewWith<typeof deadLettersWorkflow>({ provider: input.provider, carried: state });
}
