import type { BillingEvent, BillingEventKind } from './core/events';

/** Routes billflow's events to one of your workflows. */
export interface WorkflowRouteEntry {
  /** The canonical kinds this workflow receives, e.g. `['subscription.cancelled']`. */
  kinds: readonly BillingEventKind[];
  /** The name your workflow function is exported under from `workflows/index.ts`. */
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

/**
 * Your workflows. The receiver signals each event to billflow's own workflow and, in addition, to
 * every entry here whose `kinds` include the event's kind (signal-with-start: the workflow starts
 * on its first event). The worker must know the workflow (export it from `workflows/index.ts`)
 * and its activities. For example, the win-back workflow of `workflows/examples/win-back.ts`:
 *
 * ```ts
 * import { winBackRoute } from '../examples/win-back/route';
 * export const workflowRoutes: WorkflowRouteEntry[] = [winBackRoute({ offerDelay: '7 days' })];
 * ```
 */
export const workflowRoutes: WorkflowRouteEntry[] = [];
