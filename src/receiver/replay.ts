import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { BillingEvent } from '../core/events';
import { MalformedPayloadError, PartlyMalformedBatchError } from '../providers/types';
import { routeEvents } from '../routing';
import type { DeadLetter } from '../store/dead-letter-store';
import { deliverEvents, type Delivery } from '../temporal/deliver';
import type { WorkflowRouteEntry } from '../workflow-routes';
import { ReceiverError } from './errors';
import { findProvider } from './providers';

export interface ReplayOutcome {
  id: string;
  /** Events signalled to at least one workflow. */
  accepted: number;
  /** Events no workflow takes. */
  ignored: number;
  /** Entries that still cannot be read, each with its reason. */
  unusable: string[];
  eventIds: string[];
  workflowIds: string[];
}

/** One line for the dead letter's `last_replay_outcome`. */
export function describeReplay(outcome: ReplayOutcome): string {
  const parts = [`accepted ${outcome.accepted}`, `ignored ${outcome.ignored}`];
  if (outcome.unusable.length > 0) parts.push(`still unusable: ${outcome.unusable.join('; ')}`);
  return parts.join(', ');
}

/**
 * Sends a dead letter through the webhook's own path again, with today's code: a kept delivery is
 * parsed again (it was verified when it came; its signature is not checked twice, the secret may
 * have been rotated since), a kept event is routed again; then signal-with-start. Events keep their
 * ids, so a workflow that already applied one drops it. Resolves once Temporal holds them all.
 */
export async function replayDeadLetter(letter: DeadLetter, deps: { config: Config; client: Client; routes?: readonly WorkflowRouteEntry[] }): Promise<ReplayOutcome> {
  const { events, unusable } = eventsOf(letter);
  const deliveries: Delivery[] = [];
  let ignored = 0;
  for (const event of events) {
    const targets = routeEvents(event, { settings: deps.config.workflows, userRoutes: deps.routes ?? [] });
    if (targets.length === 0) ignored += 1;
    for (const route of targets) deliveries.push({ event, route });
  }
  await deliverEvents(deps.client, deliveries, { taskQueue: deps.config.temporal.taskQueue, deadlineMs: deps.config.receiver.signalDeadlineMs });
  return {
    id: letter.id,
    accepted: events.length - ignored,
    ignored,
    unusable,
    eventIds: events.map((event) => event.id),
    workflowIds: [...new Set(deliveries.map(({ route }) => route.workflowId))],
  };
}

function eventsOf(letter: DeadLetter): { events: BillingEvent[]; unusable: string[] } {
  if (letter.event) return { events: [letter.event], unusable: [] };
  const provider = findProvider(letter.provider);
  if (!letter.delivery || !provider) throw new ReceiverError(422, 'this dead letter holds nothing to replay');
  const { bodyBase64, headers, query, ip } = letter.delivery;
  try {
    return { events: provider.parse({ rawBody: Buffer.from(bodyBase64, 'base64'), headers, query, ip }), unusable: [] };
  } catch (error) {
    if (error instanceof PartlyMalformedBatchError) {
      return { events: error.usable, unusable: error.unusable.map(({ index, reason }) => `events[${index}]: ${reason}`) };
    }
    if (error instanceof MalformedPayloadError) throw new ReceiverError(422, `the delivery still cannot be read: ${error.reason}`);
    throw error;
  }
}
