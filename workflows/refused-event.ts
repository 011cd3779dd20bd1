import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BillingEvent } from '../src/core/events';
import { activityOptions } from './activity-options';

const { recordDeadLetter } = proxyActivities<Activities>(activityOptions);

/**
 * Keeps an event an entity workflow refused for good as a `refused_event` dead letter. `forget`
 * (the inbox's) is called first: a replay the letter lets an operator send may reach the inbox in
 * the same workflow task as the recording, and must be applied, not dropped as a redelivery.
 */
export async function keepRefusedEvent(event: BillingEvent, reason: string, forget: (eventId: string) => void): Promise<void> {
  forget(event.id);
  await recordDeadLetter({ provider: event.provider, kind: 'refused_event', reason, event, workflowId: workflowInfo().workflowId });
}
