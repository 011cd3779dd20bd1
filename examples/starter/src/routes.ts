import type { Duration } from '@temporalio/common';
import type { WorkflowRouteEntry } from 'billflow';
import { winBackRoute } from './win-back/route';

/** Your workflows' routes: the receiver signals each event to billflow's own workflow and to these. */
export function routes(options: { winBackDelay?: Duration } = {}): WorkflowRouteEntry[] {
  return [winBackRoute({ offerDelay: options.winBackDelay ?? '7 days' })];
}
