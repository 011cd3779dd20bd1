import type { Client } from '@temporalio/client';
import { billingProviderKey, entityWorkflowId } from '../../workflows/definitions';
import { catchUpTimingSignal, type CatchUpTiming, type CatchUpWorkflowInput } from '../../workflows/catch-up';
import type { Config } from '../config';
import type { ProviderName } from '../core/events';
import { providerNames, providers, type ProviderSettings } from '../providers/registry';
import { ConfigError } from '../settings';

/**
 * The id of a provider's catch-up workflow: one per task queue, so that two billflow deployments
 * sharing a namespace each catch up with their own credentials (`stripe:catch-up:billflow`).
 */
export function catchUpWorkflowId(provider: ProviderName, taskQueue: string): string {
  return entityWorkflowId(provider, 'catch-up', taskQueue);
}

type EventLogged = { eventLog?: { configured(settings: unknown): boolean } };

/** The providers that have an event list to catch up from. */
export const providersWithEventLists: ProviderName[] = providerNames.filter((name) => (providers[name] as EventLogged).eventLog !== undefined);

/**
 * The providers whose events are caught up under `BILLFLOW_CATCH_UP`: `auto`, those with an event
 * list and API credentials; `none`; or the ones named, each of which must have both.
 */
export function catchUpProviders(config: Pick<Config, 'catchUp'> & ProviderSettings): ProviderName[] {
  const configured = (name: ProviderName) => (providers[name] as EventLogged).eventLog?.configured(config[name]) ?? false;
  const [first] = config.catchUp.providers;
  if (first === 'none') return [];
  if (first === 'auto') return providersWithEventLists.filter(configured);
  const named = config.catchUp.providers as ProviderName[];
  const problems = [
    ...named.filter((name) => !providersWithEventLists.includes(name)).map((name) => `BILLFLOW_CATCH_UP: ${name} has no event list to catch up from (see the README, "When webhooks are missed")`),
    ...named.filter((name) => providersWithEventLists.includes(name) && !configured(name)).map((name) => `BILLFLOW_CATCH_UP: ${name}'s API credentials are not set`),
  ];
  if (problems.length > 0) throw new ConfigError(problems);
  return named;
}

/**
 * Makes sure each provider's catch-up workflow runs, and gives a running one the current timing:
 * one signal-with-start each, so a worker that starts (a deploy, several workers) never starts a
 * second one and never resets a cursor. Returns the providers caught up.
 */
export async function startCatchUp(client: Client, config: Config): Promise<ProviderName[]> {
  const chosen = catchUpProviders(config);
  const timing: CatchUpTiming = { intervalMs: config.catchUp.intervalMs, firstLookbackMs: config.catchUp.firstLookbackMs };
  for (const provider of chosen) {
    const input: CatchUpWorkflowInput = { provider, ...timing };
    await client.workflow.signalWithStart('catchUpWorkflow', {
      workflowId: catchUpWorkflowId(provider, config.temporal.taskQueue),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      signal: catchUpTimingSignal,
      signalArgs: [timing],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [{ key: billingProviderKey, value: provider }],
      staticSummary: `catchUpWorkflow: ${provider}'s events read back from its event list`,
    });
  }
  return chosen;
}
