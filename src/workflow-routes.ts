import type { BillingEvent, BillingEventKind } from './core/events';

/**
 * Routes billflow's events to one of your workflows. Pass your entries to the receiver
 * (`createReceiverApp`, `createReceiverRouter` or `startReceiver` of `billflow/receiver`, option
 * `routes`): it signals each event to billflow's own workflow and, in addition, to every entry
 * whose `kinds` include the event's kind (signal-with-start: the workflow starts on its first
 * event). Your worker must know the workflow (your workflows file exports it next to billflow's)
 * and its activities. `examples/starter/src/win-back/route.ts` is a complete entry.
 */
export interface WorkflowRouteEntry {
  /** The canonical kinds this workflow receives, e.g. `['subscription.cancelled']`. */
  kinds: readonly BillingEventKind[];
  /** The name your workflow function is exported under from your workflows file. */
  workflowType: string;
  /**
   * The workflow the event goes to; events with the same id reach the same workflow, one after
   * another. Return undefined to skip an event (e.g. one without the reference you key on).
   * Keep ids unlike billflow's own (`<provider>:<subject>:<id>` with subject `mandate`,
   * `subscription`, `payment`, `invoice`, `account`).
   */
  workflowId: (event: BillingEvent) => string | undefined;
  /** Start arguments, used only when the workflow is not running yet; none when absent. */
  args?: (event: BillingEvent) => unknown[];
}
