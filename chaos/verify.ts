import type { Client } from '@temporalio/client';
import type { Account } from '../src/store/account-store';
import type { ProviderSandbox } from '../src/testing/sandbox/server';
import { chainFacts, mapLimit, queryState, type ChainFacts, type EntityState } from '../bench/lib/workflows';
import type { Scenario } from './scenario';

export interface Verdict {
  events: number;
  /** Distinct events some workflow history holds a `billingEvent` signal for. */
  signalled: number;
  /** Events the workflows report applied (sum of their `eventsApplied`). */
  applied: number;
  /** `billingEvent` signals in the histories beyond the first per event: redeliveries. */
  redeliveredSignals: number;
  /** Redeliveries the workflows dropped as duplicates (their `duplicatesDropped`). */
  duplicatesSuppressed: number;
  /** Events no history holds: lost between a 2xx and a workflow. */
  lost: number;
  /** Events applied more than once (a workflow's `eventsApplied` above its distinct events). */
  appliedTwice: number;
  workflowTaskFailures: number;
  /** Account-store changes whose event was acted on once by the workflow and recorded once by the store. */
  storeEffects: number;
  /** Payments retried at the sandbox (each exactly once). */
  sandboxEffects: number;
  /** Everything that is not as the events imply; empty when the run passed. */
  problems: string[];
}

type AccountReader = (provider: 'gocardless' | 'stripe', customerId: string) => Promise<Account | undefined>;

const storeActions: Record<string, string> = {
  suspendAccount: 'suspend',
  reinstateAccount: 'reinstate',
  resetAccountUsage: 'reset_usage',
  endAccountAccess: 'end_access',
};

export interface Observed {
  facts: Map<string, ChainFacts>;
  states: Map<string, EntityState>;
}

/**
 * The workflows' states (their query: the worker must be up) and every run of their histories, into
 * `into` (all the scenario's workflows, or `ids`); a workflow that does not answer yet is left out.
 */
export async function observe(
  client: Client,
  scenario: Scenario,
  into: Observed,
  ids: readonly string[] = [...scenario.expected.keys()],
  note: (line: string) => void = () => undefined,
): Promise<void> {
  let read = 0;
  await mapLimit(ids, 16, async (id) => {
    read += 1;
    if (read % 2000 === 0) note(`read ${read}/${ids.length} workflows`);
    const entry = scenario.expected.get(id);
    try {
      const state = await queryState(client, entry?.workflowType ?? '', id);
      into.facts.set(id, await chainFacts(client, id));
      into.states.set(id, state);
    } catch {
      into.states.delete(id);
    }
  });
}

/** Workflows not yet done with everything the scenario sent them (or not answering). */
export function unfinished(scenario: Scenario, observed: Observed): string[] {
  return [...scenario.expected].flatMap(([id, { eventIds }]) => {
    const state = observed.states.get(id);
    const dunningOpen = Array.isArray(state?.dunning) && state.dunning.length > 0;
    return state === undefined || (state.eventsApplied ?? 0) < eventIds.size || dunningOpen ? [id] : [];
  });
}

/**
 * Checks the end state against the scenario: every event in its workflow's history, applied once;
 * every account change the workflows decided recorded once in the store and nothing more; every
 * payment retry made once at the sandbox; final states what the last events imply.
 */
export async function verify(
  { facts, states }: Observed,
  scenario: Scenario,
  readAccount: AccountReader,
  sandbox: ProviderSandbox,
  note: (line: string) => void = () => undefined,
): Promise<Verdict> {
  const problems: string[] = [];
  const problem = (line: string) => {
    if (problems.length < 50) problems.push(line);
  };

  const verdict: Verdict = {
    events: 0,
    signalled: 0,
    applied: 0,
    redeliveredSignals: 0,
    duplicatesSuppressed: 0,
    lost: 0,
    appliedTwice: 0,
    workflowTaskFailures: 0,
    storeEffects: 0,
    sandboxEffects: 0,
    problems,
  };
  for (const [id, { eventIds }] of scenario.expected) {
    const fact = facts.get(id);
    const state = states.get(id);
    if (!fact || !state) {
      verdict.lost += eventIds.size;
      problem(`${id}: never answered its state query`);
      continue;
    }
    verdict.events += eventIds.size;
    for (const eventId of eventIds) {
      const signals = fact.signalsByEvent.get(eventId) ?? 0;
      if (signals === 0) {
        verdict.lost += 1;
        problem(`${id}: event ${eventId} is in no run of its history`);
      } else {
        verdict.signalled += 1;
        verdict.redeliveredSignals += signals - 1;
      }
    }
    for (const eventId of fact.signalsByEvent.keys()) if (!eventIds.has(eventId)) problem(`${id}: signalled an event the scenario never sent (${eventId})`);
    const applied = state.eventsApplied ?? 0;
    verdict.applied += applied;
    verdict.duplicatesSuppressed += state.duplicatesDropped ?? 0;
    if (applied > eventIds.size) {
      verdict.appliedTwice += applied - eventIds.size;
      problem(`${id}: applied ${applied} events, ${eventIds.size} were sent`);
    } else if (applied < eventIds.size) {
      problem(`${id}: applied ${applied} of ${eventIds.size} events`);
    }
    if (applied + (state.duplicatesDropped ?? 0) !== fact.signals) {
      problem(`${id}: ${fact.signals} signals in its histories, but ${applied} applied + ${state.duplicatesDropped ?? 0} dropped as duplicates`);
    }
    verdict.workflowTaskFailures += fact.workflowTaskFailures;
    if (fact.status !== 'RUNNING') problem(`${id}: ${fact.status}, not running`);
    // The same event must never lead to the same account change twice.
    const decided = new Set<string>();
    for (const activity of fact.activities) {
      if (!(activity.type in storeActions)) continue;
      const key = `${activity.type}:${activity.eventId}`;
      if (decided.has(key)) problem(`${id}: scheduled ${activity.type} twice for event ${activity.eventId}`);
      decided.add(key);
    }
  }

  note(`reading ${scenario.mandates.length + scenario.dunning.length} accounts`);
  await mapLimit(scenario.mandates, 8, async (story) => {
    const state = states.get(story.workflowId) ?? {};
    const wantedAccess = story.finalStatus === 'cancelled' ? 'suspended' : 'active';
    if (state.access !== wantedAccess) problem(`${story.workflowId}: access ${String(state.access)}, the events imply ${wantedAccess}`);
    const account = await readAccount('gocardless', story.customerId);
    if ((account?.status ?? 'active') !== wantedAccess) problem(`account ${story.customerId}: ${account?.status ?? 'none'}, the events imply ${wantedAccess}`);
    // One row per change the workflow decided, none for anything else.
    const decided = (facts.get(story.workflowId)?.activities ?? [])
      .filter((activity) => activity.type in storeActions)
      .map((activity) => `${storeActions[activity.type]}:${activity.eventId}`)
      .sort();
    const recorded = (account?.history ?? []).map((change) => `${change.action}:${change.eventId}`).sort();
    if (decided.join(',') !== recorded.join(',')) problem(`account ${story.customerId}: store holds [${recorded.join(', ')}], the workflow decided [${decided.join(', ')}]`);
    verdict.storeEffects += recorded.length;
    const changedToSuspended = (account?.history ?? []).filter((change) => change.changed && change.statusAfter === 'suspended').length;
    if (story.finalStatus === 'cancelled' && changedToSuspended !== 1) problem(`account ${story.customerId}: suspended ${changedToSuspended} times, once expected`);
  });

  for (const story of scenario.dunning) {
    const invoice = sandbox.state.stripe.invoices.get(story.invoiceId);
    const pays = sandbox.requests.filter((request) => request.method === 'POST' && request.path.endsWith(`/invoices/${story.invoiceId}/pay`) && request.status === 200);
    const fresh = pays.filter((request) => request.headers['idempotency-key'] !== undefined);
    if (invoice?.status !== 'paid') problem(`invoice ${story.invoiceId}: ${invoice?.status ?? 'missing'} at the sandbox, paid expected`);
    if (invoice?.attemptCount !== 1) problem(`invoice ${story.invoiceId}: ${invoice?.attemptCount ?? 0} payment attempts at the sandbox, 1 expected (${fresh.length} answered requests)`);
    else verdict.sandboxEffects += 1;
    const state: EntityState & { dunning?: unknown[] } = states.get(story.workflowId) ?? {};
    if ((state.dunning ?? []).length > 0) problem(`${story.workflowId}: dunning still open ${JSON.stringify(state.dunning)}`);
    const account = await readAccount('stripe', story.customerId);
    if (account && account.status !== 'active') problem(`account ${story.customerId}: ${account.status}, the payment was retried and paid`);
  }
  if (verdict.lost > 0) problem(`${verdict.lost} events lost`);
  return verdict;
}
