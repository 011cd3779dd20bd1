import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeadLetterInput } from '../src/core/dead-letters';
import { activityOptions } from './activity-options';

const { recordDeadLetter } = proxyActivities<Activities>(activityOptions);

/**
 * `<provider>:dead-letter:<key>`: a receiver without a database of its own (the embedded one
 * belongs to the worker) hands a dead letter to Temporal, durably, before answering; this stores
 * it in the dead-letter store and ends. Started once per delivery: a provider retrying it while
 * it runs joins the same run.
 */
export async function deadLetterWorkflow(input: DeadLetterInput): Promise<{ id: string }> {
  return recordDeadLetter(input);
}
