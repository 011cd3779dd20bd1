/**
 * What billflow gives you to write your own workflows on its events. A typical one:
 *
 * ```ts
 * export async function myWorkflow(input: MyInput): Promise<void> {
 *   const inbox = new EventInbox(input.carried?.inbox); // dedupes for life, in arrival order
 *   inbox.listen();                                     // handles billflow's `billingEvent` signal
 *   const state = input.carried?.state ?? initialState;
 *   while (!inbox.shouldContinueAsNew()) {
 *     const event = await inbox.next(msUntil(state.dueAt)); // undefined: a timer is due
 *     if (event && !isOlderThan(event, state.changedAt)) apply(event, state);
 *     else if (!event && isDue(state.dueAt)) await act(state);
 *   }
 *   await continueAsNewWith<typeof myWorkflow>({ ...input, carried: { state, inbox: inbox.carry() } });
 * }
 * ```
 *
 * Import them from `billflow/workflow` (nothing there pulls in Node built-ins), re-export billflow's
 * workflows next to yours from your workflows file, register your activities with the worker and
 * pass your route to the receiver. `examples/starter/` is a complete project doing so.
 *
 * @module
 */
import { allHandlersFinished, condition, continueAsNew, type Workflow } from '@temporalio/workflow';
import type { BillingEvent } from '../src/core/events';

export type { BillingEvent, BillingEventKind, BillingFacts, BillingReferences, ProviderName } from '../src/core/events';
export { activityOptions } from './activity-options';
export { billingEventSignal, entityWorkflowId } from './definitions';
export { EventInbox, type InboxCarry, type InboxOptions } from './event-inbox';
/** billflow's activities, for `proxyActivities<Activities>` in your workflows (e.g. `getSubscription`). */
export type { Activities } from '../activities';
/** An event's canonical facts, read the same for events recorded by earlier versions. */
export { factsOf } from './facts';
export { failureMessage, isFinalFailure, type FinalFailure } from './failures';

/**
 * Continues the workflow as new once every signal and update handler has finished, so nothing a
 * handler was doing is lost. Pass the next run's input, carrying your state and `inbox.carry()`
 * (remembered event ids and events not yet taken). Timers do not survive the hand-over: carry
 * their absolute due times (epoch ms) and wait for `msUntil(dueAt)` in the next run.
 */
export async function continueAsNewWith<W extends Workflow>(...args: Parameters<W>): Promise<never> {
  await condition(allHandlersFinished);
  return continueAsNew<W>(...args);
}

/**
 * True when `event` happened before `since` (an ISO time you stored from the event that set your
 * current state): such an event arrived late and must not undo newer state. False when `since`
 * is undefined.
 */
export function isOlderThan(event: Pick<BillingEvent, 'occurredAt'>, since: string | undefined): boolean {
  return since !== undefined && Date.parse(event.occurredAt) < Date.parse(since);
}

/**
 * Milliseconds from now (workflow time, deterministic) until `dueAt` (epoch ms), never negative;
 * undefined when nothing is due. Made for `inbox.next(msUntil(dueAt))`.
 */
export function msUntil(dueAt: number | undefined): number | undefined {
  return dueAt === undefined ? undefined : Math.max(0, dueAt - Date.now());
}

/** True when `dueAt` (epoch ms) has come, by workflow time. */
export function isDue(dueAt: number | undefined): boolean {
  return dueAt !== undefined && dueAt <= Date.now();
}
