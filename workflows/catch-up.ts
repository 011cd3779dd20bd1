import { condition, defineQuery, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CatchUpCounts, CatchUpCursor } from '../src/catch-up/sweep';
import type { ProviderName } from '../src/core/events';
import { activityOptions } from './activity-options';
import { continueAsNewWith } from './building-blocks';
import { showDetails } from './web-ui';

export interface CatchUpTiming {
  /** Time between two sweeps. */
  intervalMs: number;
  /** How far back the first sweep reads, before there is a cursor. */
  firstLookbackMs: number;
}

export interface CatchUpWorkflowInput extends CatchUpTiming {
  provider: ProviderName;
  /** Set only by continue-as-new. */
  carried?: CatchUpView;
}

export interface CatchUpView {
  cursor: CatchUpCursor;
  /** Every outcome since the workflow first started. */
  totals: CatchUpCounts;
  sweeps: number;
  lastSweep?: { at: string; counts: CatchUpCounts };
}

/** New timing, sent by every worker that starts (a deploy), so the running workflow follows the settings. */
export const catchUpTimingSignal = defineSignal<[CatchUpTiming]>('catchUpTiming');
/** Sweep now rather than at the end of the interval (an operator after an outage, a test). */
export const catchUpNowSignal = defineSignal('catchUpNow');
export const catchUpStateQuery = defineQuery<CatchUpView>('catchUpState');

/** Sweeps one run makes before it continues as new, keeping each history short. */
const sweepsPerRun = 200;

const { catchUpProviderEvents } = proxyActivities<Activities>({
  ...activityOptions,
  // A sweep reads every page since the cursor: long after an outage, so it heartbeats per event.
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
});

/**
 * `<provider>:catch-up:<task queue>`, one per provider with an event list: sweeps the provider's events
 * since its cursor every interval and hands on each one the way its webhook would have gone, so
 * the events whose webhooks never came (an outage past the provider's retries, a rotated secret)
 * are applied, and those that came are dropped by their workflows. The cursor lives here, in the
 * workflow's state, carried through continue-as-new: it survives crashes and deploys.
 */
export async function catchUpWorkflow(input: CatchUpWorkflowInput): Promise<void> {
  let timing: CatchUpTiming = { intervalMs: input.intervalMs, firstLookbackMs: input.firstLookbackMs };
  const view: CatchUpView = input.carried ?? {
    cursor: { since: new Date(Date.now() - input.firstLookbackMs).toISOString(), seen: [] },
    totals: { recovered: 0, duplicate: 0, ignored: 0, unusable: 0, reconciled: 0 },
    sweeps: 0,
  };
  let sweepAsked = false;
  setHandler(catchUpTimingSignal, (next) => {
    timing = next;
  });
  setHandler(catchUpNowSignal, () => {
    sweepAsked = true;
  });
  setHandler(catchUpStateQuery, () => view);

  for (let sweep = 0; sweep < sweepsPerRun && !workflowInfo().continueAsNewSuggested; sweep += 1) {
    sweepAsked = false;
    const { cursor, counts } = await catchUpProviderEvents({ provider: input.provider, cursor: view.cursor });
    view.cursor = cursor;
    view.sweeps += 1;
    view.lastSweep = { at: new Date().toISOString(), counts };
    // Totals carried from runs before an outcome existed lack it.
    for (const outcome of Object.keys(counts) as (keyof CatchUpCounts)[]) view.totals[outcome] = (view.totals[outcome] ?? 0) + counts[outcome];
    show(input.provider, view, timing);
    await condition(() => sweepAsked, timing.intervalMs);
  }
  await continueAsNewWith<typeof catchUpWorkflow>({ provider: input.provider, ...timing, carried: view });
}

function show(provider: ProviderName, view: CatchUpView, timing: CatchUpTiming): void {
  const { recovered, duplicate, ignored, unusable, reconciled } = view.totals;
  const states = reconciled ? `, ${reconciled} ${reconciled === 1 ? 'state' : 'states'} reconciled` : '';
  showDetails({
    subject: `${provider} catch-up`,
    standing: `cursor at ${view.cursor.since}; **${recovered}** missed ${recovered === 1 ? 'webhook' : 'webhooks'} recovered${states}, ${duplicate} already delivered, ${ignored} ignored, ${unusable} unusable`,
    next: `a sweep every ${Math.round(timing.intervalMs / 1000)} s`,
    ...(view.lastSweep ? { lastStep: { action: `sweep ${view.sweeps}: ${view.lastSweep.counts.recovered} recovered, ${view.lastSweep.counts.duplicate} duplicates`, at: view.lastSweep.at } } : {}),
  });
}
