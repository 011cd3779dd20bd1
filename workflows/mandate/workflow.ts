import { condition, defineQuery, patched, setHandler } from '@temporalio/workflow';
import type { ProviderName } from '../../src/core/events';
import { continueAsNewWith } from '../building-blocks';
import { EventInbox, type InboxCarry } from '../event-inbox';
import { MandateProcesses } from './processes';
import { ShownMandate } from './shown';
import { MandateState, type MandateSnapshot } from './state';

export interface MandateWorkflowInput {
  provider: ProviderName;
  mandateId: string;
  /** Time between a confirmed cancellation and the suspension (ms); at once when absent or 0. */
  suspensionGraceMs?: number;
  /** Signals one run takes before continuing as new; the inbox's default when absent. */
  maxSignalsPerRun?: number;
  /** Set only by continue-as-new: the previous run's state and inbox. */
  carried?: { mandate: MandateSnapshot; inbox: InboxCarry };
}

export const mandateStateQuery = defineQuery<MandateSnapshot>('mandateState');

/**
 * One workflow per mandate, alive as long as the mandate: suspends the customer's account when
 * the mandate is cancelled, fails or expires, and reinstates it when the mandate comes back.
 */
export async function mandateWorkflow(input: MandateWorkflowInput): Promise<void> {
  const mandate = new MandateState(
    input.carried?.mandate ?? { provider: input.provider, mandateId: input.mandateId, access: 'active', eventsApplied: 0, duplicatesDropped: 0 },
  );
  const inbox = new EventInbox(input.carried?.inbox, { maxSignalsPerRun: input.maxSignalsPerRun });
  inbox.listen();
  setHandler(mandateStateQuery, () => mandate.snapshot(mandate.snapshot().duplicatesDropped + inbox.duplicatesDropped));
  const processes = new MandateProcesses(mandate, input.suspensionGraceMs ?? 0);
  // A refused event is forgotten by the inbox, so that its replay (once the cause is fixed) is applied.
  const forget = (eventId: string) => inbox.forget(eventId);
  const shown = new ShownMandate(inbox.hasPending());
  shown.update(mandate);

  while (!inbox.shouldContinueAsNew()) {
    const pending = mandate.pendingSuspension;
    if (pending && pending.dueAt <= Date.now()) {
      await processes.suspendAfterGrace(pending.event, forget);
      shown.update(mandate);
      continue;
    }
    const ready = () => inbox.hasPending() || inbox.shouldContinueAsNew();
    // Histories recorded before keeping one timer per due time started one per wait, and replay that way.
    if (patched('one-timer-per-due-time')) await inbox.waitBy(pending?.dueAt);
    else if (pending) await condition(ready, pending.dueAt - Date.now());
    else await condition(ready);
    const event = inbox.take();
    if (event) {
      await inbox.inTraceOf(event, () => processes.apply(event, forget));
      shown.update(mandate);
    }
  }

  const snapshot = mandate.snapshot(mandate.snapshot().duplicatesDropped + inbox.duplicatesDropped);
  await continueAsNewWith<typeof mandateWorkflow>({ ...input, carried: { mandate: snapshot, inbox: inbox.carry() } });
}
