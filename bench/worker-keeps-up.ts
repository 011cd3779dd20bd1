// Worker keeps up: events applied by billflow's workflows per second vs events the receiver accepted
// per second, in the same run (webhooks posted at full speed while the worker applies them).
import type { MandateSeed } from '../src/providers/gocardless/testing/sandbox';
import type { ProviderName } from '../src/core/events';
import { cpuMeter, describeCpu } from './lib/cpu';
import { keepAliveAgent, perSecond } from './lib/load';
import { describeSender, sendLikeProvider } from './lib/sender';
import { formatRatio, megabytes, onEachServer, progress, readOptions, round, runAlone, verdict, type BenchResult } from './lib/report';
import { startBenchStack, type BenchStack } from './lib/stack';
import type { BenchServer } from './lib/temporal';
import { allProviders, seededRandom, webhookMix, type PreparedWebhook } from './lib/webhooks';
import { chainFacts, mapLimit, queryState, workerQuiet } from './lib/workflows';

export const workerOptions = {
  webhooks: { quick: 1000, full: 5000, help: 'webhooks posted' },
  concurrency: { quick: 32, full: 64, help: 'webhooks in flight' },
  entities: { quick: 100, full: 500, help: 'entities per provider' },
  seed: { quick: 11, full: 11, help: 'seed of the mix' },
} as const;

type WorkerOptions = ReturnType<typeof readOptions<keyof typeof workerOptions>>;

const target = 0.9;

/**
 * Events whose effects the local sandbox can back: GoCardless cancellations are confirmed with the
 * (seeded) provider and suspend the account; the others are applied to the workflow's state.
 */
export const workerEvents: Partial<Record<ProviderName, readonly string[]>> = {
  gocardless: ['mandates.cancelled', 'mandates.active'],
  stripe: ['invoice.paid', 'customer.subscription.created', 'customer.subscription.updated'],
  recurly: ['subscription.created', 'subscription.updated'],
  billforward: ['Subscription.Provisioned', 'Subscription.Updated'],
  ccbill: ['UserReactivation'],
};

/** Puts every GoCardless mandate of the webhooks into the sandbox, cancelled, so that confirmations succeed. */
export function seedMandates(sandbox: BenchStack['sandbox'], webhooks: readonly PreparedWebhook[], status: MandateSeed['status'] = 'cancelled'): void {
  for (const webhook of webhooks) {
    for (const event of webhook.events) {
      const mandate = event.references.mandate;
      if (event.provider === 'gocardless' && mandate) sandbox.seedMandate({ id: mandate, customerId: `CU${mandate.slice(2)}`, status });
    }
  }
}

export function workerKeepsUp(options: WorkerOptions): Promise<BenchResult> {
  return onEachServer(options.servers, (server) => workerKeepsUpOn(server, options));
}

async function workerKeepsUpOn(server: BenchServer, options: WorkerOptions): Promise<BenchResult> {
  const stack = await startBenchStack({ name: 'bench-worker', logLevel: options.logLevel, worker: true, profile: options.cpuProf ? 'worker' : undefined, server });
  const { temporal, sandbox, receiver, worker, client, profileDir } = stack;
  const agent = keepAliveAgent(options.concurrency);
  try {
    const mix = webhookMix({ webhooks: options.webhooks, entities: options.entities, providers: allProviders, events: workerEvents, random: seededRandom(options.seed) });
    seedMandates(sandbox, mix.webhooks);
    // Distinct events: a provider without event ids (CCBill) gets one derived from the content, so two
    // identical deliveries in the same second are one event, applied once.
    const eventIds = new Map<string, Set<string>>();
    for (const webhook of mix.webhooks) {
      for (const { event, route } of webhook.deliveries) eventIds.set(route.workflowId, (eventIds.get(route.workflowId) ?? new Set()).add(event.id));
    }
    const events = [...eventIds.values()].reduce((sum, ids) => sum + ids.size, 0);
    const workflows = new Map(mix.webhooks.flatMap((webhook) => webhook.deliveries.map(({ route }) => [route.workflowId, route.workflowType] as const)));
    progress(`worker: ${options.webhooks} webhooks (${mix.providers.join(', ')}) to ${workflows.size} workflows, ${options.concurrency} in flight`);

    const meter = cpuMeter({ worker: worker.child.process.pid, receiver: receiver.child.process.pid, temporal: temporal.process.pid });
    // Sent as a provider sends: a webhook answered 503 (its signals past the deadline) comes again later.
    const startedAt = Date.now();
    const { stats } = await sendLikeProvider(mix.webhooks, {
      baseUrl: receiver.url,
      agent,
      concurrency: options.concurrency,
      initialBackoffMs: 500,
      maxBackoffMs: 5000,
      maxAttempts: 20,
      timeLimitMs: 600_000,
      requestTimeoutMs: 30_000,
    });
    const acceptedAt = Date.now();
    const acceptedRate = perSecond(events, acceptedAt - startedAt);
    progress(`worker: ${describeSender(stats)}; ${events} distinct events accepted in ${round((acceptedAt - startedAt) / 1000, 1)} s (${round(acceptedRate)} events/s)`);
    const quiet = await workerQuiet(worker.metricsUrl as string, 3000, options.full ? 900_000 : 300_000);
    const cpu = meter.stop();
    const memory = await worker.memory();

    const ids = [...workflows.keys()];
    const facts = await mapLimit(ids, 8, (id) => chainFacts(client, id));
    const states = await mapLimit(ids, 8, (id) => queryState(client, workflows.get(id) as string, id));
    const applied = states.reduce((sum, state) => sum + (state.eventsApplied ?? 0), 0);
    const short = ids.filter((id, index) => (states[index]?.eventsApplied ?? 0) !== eventIds.get(id)?.size);
    if (short.length > 0) progress(`worker: ${short.length} workflows applied fewer events than sent, e.g. ${short.slice(0, 3).map((id) => `${id} (${JSON.stringify(states[ids.indexOf(id)])})`).join(', ')}`);
    const failedTasks = facts.reduce((sum, fact) => sum + fact.workflowTaskFailures, 0);
    const lastApplied = Math.max(...facts.map((fact) => fact.lastTaskCompletedAt ?? 0));
    const appliedRate = perSecond(applied, lastApplied - startedAt);
    const ratio = appliedRate / acceptedRate;
    const met = ratio >= target && applied === events && stats.gaveUp === 0;
    progress(`worker: applied ${applied}/${events} events by ${round((lastApplied - startedAt) / 1000, 1)} s${quiet ? '' : ' (did not go quiet in time)'}; ${failedTasks} failed workflow tasks; cpu: ${describeCpu(cpu)}; worker RSS ${megabytes(memory.rss)}, heap ${megabytes(memory.heapUsed)}`);
    if (options.cpuProf) progress(`worker CPU profile in ${profileDir} after it stops (kept)`);
    const figure = `applied ${round(appliedRate)} events/s vs accepted ${round(acceptedRate)} events/s (${applied}/${events} applied, ${failedTasks} failed workflow tasks, ${workflows.size} workflows; ${stats.retried} webhooks retried, ${stats.gaveUp} given up)`;
    return {
      name: 'worker-keeps-up',
      summary: `worker keeps up: ${figure} → ratio ${formatRatio(ratio)} (target ≥ ${target}: ${verdict(met)})`,
      rows: [
        {
          what: `Worker keeps up: events applied/s vs accepted/s (${mix.providers.join(', ')}; ${options.concurrency} webhooks in flight)`,
          command: `npm run bench -- worker${options.full ? ' --full' : ''}`,
          figure,
          ratio,
          target: `≥ ${target}`,
          met,
        },
      ],
    };
  } finally {
    agent.destroy();
    await stack.stop();
  }
}

runAlone(module, () => workerKeepsUp(readOptions(process.argv.slice(2), workerOptions)));
