// `npm run chaos -- catch-up [--per-phase 250] [--concurrency 16] [--sweep-concurrency 16]`: the outage scenario of
// test/integration/catch-up.test.ts at a size. A provider-like sender delivers GoCardless mandate
// cancellations, Stripe subscription deletions and Recurly subscription expiries in four phases:
// receiver up; receiver down (the sender gives up after its shortened horizon); secret rotated at
// the providers before billflow knows it (refused, given up); billflow given the new secret. Then
// catch-up sweeps the two event lists and Recurly's subscriptions by state, and the audit checks
// every event applied once and every effect once.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createActivities } from '../activities';
import { readOptions } from '../bench/lib/report';
import { catchUpWorkflowId, startCatchUp } from '../src/catch-up/start';
import { loadConfig, type Config } from '../src/config';
import { getFreePort } from '../src/free-port';
import { routeEvents } from '../src/routing';
import { startReceiver, type RunningReceiver } from '../src/run/receiver';
import { AccountStore } from '../src/store/account-store';
import { openDatabase } from '../src/store/database';
import { cancellationsHappen, type HappenedAtProviders } from '../src/testing/outage-events';
import { ProviderSender, type SendOutcome } from '../src/testing/provider-sender';
import { sandboxProviderSettings, startProviderSandbox, type ProviderSandbox } from '../src/testing/sandbox/server';
import { findOrBuildTemporalCli } from '../src/temporal/cli-binary';
import { temporalConnectionOptions } from '../src/temporal/connection';
import { startDevServer } from '../src/temporal/dev-server';
import { startWorker } from '../src/temporal/worker';
import { catchUpStateQuery, type CatchUpView } from '../workflows/catch-up';

const silent = pino({ level: 'silent' });
const secrets = {
  before: { gocardless: 'chaos-gocardless-before', stripe: 'whsec_chaos_before', recurly: 'chaos-recurly-before' },
  after: { gocardless: 'chaos-gocardless-after', stripe: 'whsec_chaos_after', recurly: 'chaos-recurly-after' },
};
type Secrets = typeof secrets.before;
const providers = ['gocardless', 'stripe', 'recurly'] as const;
type Phase = 'receiver up' | 'receiver down' | 'secret rotated' | 'new secret known';
interface Story {
  phase: Phase;
  mandate: string;
  mandateCustomer: string;
  stripeCustomer: string;
  recurlyCustomer: string;
  /** Per provider, in the order of `providers`. */
  outcomes: SendOutcome[];
}

export async function runCatchUpChaos(argv: string[]): Promise<void> {
  const options = readOptions(argv, {
    'per-phase': { quick: 250, full: 250, help: 'events per provider and phase (four phases, three providers)' },
    concurrency: { quick: 16, full: 16, help: 'deliveries in flight' },
    'sweep-concurrency': { quick: 16, full: 16, help: 'events a sweep hands on at once (BILLFLOW_CATCH_UP_CONCURRENCY)' },
  });
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`  · [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const temporal = await startDevServer({ cliPath: await findOrBuildTemporalCli({ log }), port: await getFreePort(), log });
  const sandbox = await startProviderSandbox();
  const database = await openDatabase({});
  const store = new AccountStore(database);
  const port = await getFreePort();
  const taskQueue = `chaos-catch-up-${randomUUID()}`;
  const configWith = (known: Secrets): Config =>
    loadConfig({
      ...sandboxProviderSettings(sandbox, {}),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      PORT: String(port),
      HOST: '127.0.0.1',
      GOCARDLESS_WEBHOOK_SECRET: known.gocardless,
      STRIPE_WEBHOOK_SECRET: known.stripe,
      RECURLY_WEBHOOK_SECRET: known.recurly,
      BILLFLOW_CATCH_UP_INTERVAL: '1 hour',
      BILLFLOW_CATCH_UP_FIRST_LOOKBACK: '1 day',
      BILLFLOW_CATCH_UP_CONCURRENCY: String(options['sweep-concurrency']),
    });
  let config = configWith(secrets.before);
  const worker = await startWorker(config, createActivities({ store, providers: config, route: (event) => routeEvents(event, { settings: config.workflows }) }), silent);
  const client = new Client({ connection: await Connection.connect(temporalConnectionOptions(config.temporal)), namespace: config.temporal.namespace });
  const sender = new ProviderSender({ receiverUrl: () => `http://127.0.0.1:${port}`, horizonMs: 1500, retryEveryMs: 250 });
  for (const provider of providers) sender.useSecret(provider, secrets.before[provider]);
  const stories: Story[] = [];
  let receiver: RunningReceiver | undefined;
  try {
    const phase = async (name: Phase) => {
      const began = Date.now();
      const batch = Array.from({ length: options['per-phase'] }, () => happen(sandbox, name));
      stories.push(...batch.map(({ story }) => story));
      await inParallel(batch, options.concurrency, async ({ story, sent }) => {
        story.outcomes = await Promise.all(providers.map((provider) => sender.send(provider, sent[provider].body, sent[provider].headers)));
      });
      log(`${name}: ${batch.length * providers.length} events in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    };
    receiver = await startReceiver(config, silent);
    await phase('receiver up');
    await receiver.close();
    receiver = undefined;
    await phase('receiver down');
    receiver = await startReceiver(config, silent);
    for (const provider of providers) sender.useSecret(provider, secrets.after[provider]);
    await phase('secret rotated');
    await receiver.close();
    config = configWith(Object.fromEntries(providers.map((provider) => [provider, `${secrets.before[provider]},${secrets.after[provider]}`])) as Secrets);
    receiver = await startReceiver(config, silent);
    await phase('new secret known');

    const sweepStarted = Date.now();
    await startCatchUp(client, config);
    const states = await until(async () => {
      const views = await Promise.all(providers.map((provider) => client.workflow.getHandle(catchUpWorkflowId(provider, taskQueue)).query(catchUpStateQuery).catch(() => undefined)));
      return views.every((view) => view && view.sweeps >= 1) ? (views as CatchUpView[]) : undefined;
    }, 600_000);
    if (!states) throw new Error('catch-up did not sweep within 10 minutes');
    const sweptMs = Date.now() - sweepStarted;
    const applied = await until(async () => ((await unapplied(store, stories)).length === 0 ? true : undefined), 600_000);
    const appliedMs = Date.now() - sweepStarted;

    const { problems, mostReads } = applied ? await audit(store, sandbox, stories, states) : { problems: ['not every event was applied in time'], mostReads: 0 };
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const lost = sender.outcomes.gaveUp;
    out(`sender: ${sender.outcomes.delivered} delivered, ${sender.outcomes.gaveUp} given up after the horizon, ${sender.outcomes.attempts} attempts`);
    for (const [index, provider] of providers.entries()) {
      const { totals } = states[index] as CatchUpView;
      out(`${provider} catch-up: ${totals.recovered} recovered, ${totals.reconciled ?? 0} reconciled, ${totals.duplicate} duplicates, ${totals.ignored} ignored, ${totals.unusable} unusable`);
    }
    out(`effects: one account change per event; at most ${mostReads} reads of one mandate at GoCardless (retried reads)`);
    out(`catch-up: ${lost} webhooks given up by the sender; first sweeps done ${(sweptMs / 1000).toFixed(1)} s after start, every effect in place after ${(appliedMs / 1000).toFixed(1)} s`);
    for (const problem of problems) out(`PROBLEM: ${problem}`);
    out(`chaos catch-up ${problems.length === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${stories.length * providers.length} events`);
    process.exitCode = problems.length === 0 ? 0 : 1;
  } finally {
    await receiver?.close();
    await worker.shutdown();
    await client.connection.close();
    await database.close();
    await sandbox.close();
    await temporal.stop();
  }
}

/** Something happens at every provider: the sandbox lists it; its webhooks go to the sender. */
function happen(sandbox: ProviderSandbox, phase: Phase): { story: Story; sent: HappenedAtProviders } {
  const sent = cancellationsHappen(sandbox);
  const story = { phase, mandate: sent.gocardless.mandate, mandateCustomer: sent.gocardless.customer, stripeCustomer: sent.stripe.customer, recurlyCustomer: sent.recurly.customer, outcomes: [] };
  return { story, sent };
}

async function unapplied(store: AccountStore, stories: Story[]): Promise<Story[]> {
  const missing: Story[] = [];
  for (const story of stories) {
    const [mandateAccount, stripeAccount, recurlyAccount] = await Promise.all([
      store.get('gocardless', story.mandateCustomer),
      store.get('stripe', story.stripeCustomer),
      store.get('recurly', story.recurlyCustomer),
    ]);
    if (mandateAccount?.status !== 'suspended' || stripeAccount?.status !== 'closed' || recurlyAccount?.status !== 'closed') missing.push(story);
  }
  return missing;
}

/**
 * Every effect once (one account change per event), and catch-up's counts adding up: every event
 * either recovered or a duplicate; each delivered one a duplicate, and none recovered that reached
 * billflow (a delivery the sender gave up on may still have been made durable, then it is a duplicate).
 * Recurly's states are all reconciled (the webhooks' ids are not theirs): one each. GoCardless reads
 * of the mandate are reported, not audited: a read may be retried.
 */
async function audit(store: AccountStore, sandbox: ProviderSandbox, stories: Story[], states: CatchUpView[]): Promise<{ problems: string[]; mostReads: number }> {
  const problems: string[] = [];
  const reads = new Map<string, number>();
  for (const request of sandbox.requests) if (request.method === 'GET' && request.path.startsWith('/gocardless/mandates/')) reads.set(request.path, (reads.get(request.path) ?? 0) + 1);
  for (const story of stories) {
    const changes = [
      (await store.get('gocardless', story.mandateCustomer))?.history.length,
      (await store.get('stripe', story.stripeCustomer))?.history.length,
      (await store.get('recurly', story.recurlyCustomer))?.history.length,
    ];
    if (changes.some((count) => count !== 1)) problems.push(`${story.mandate}/${story.stripeCustomer}/${story.recurlyCustomer}: account changes ${changes.join(', ')} (want 1 each)`);
  }
  for (const [index, state] of states.entries()) {
    if (providers[index] === 'recurly') {
      if ((state.totals.reconciled ?? 0) !== stories.length) problems.push(`recurly: ${state.totals.reconciled ?? 0} states reconciled for ${stories.length} subscriptions`);
      continue;
    }
    const gaveUp = stories.filter((story) => story.outcomes[index] === 'gave-up').length;
    const { recovered, duplicate } = state.totals;
    if (recovered + duplicate !== stories.length || recovered > gaveUp || duplicate < stories.length - gaveUp) {
      problems.push(`${providers[index]}: ${recovered} recovered and ${duplicate} duplicates for ${stories.length} events, ${gaveUp} given up by the sender`);
    }
  }
  return { problems: problems.slice(0, 20), mostReads: Math.max(0, ...reads.values()) };
}

async function inParallel<T>(items: T[], concurrency: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await each(items[next++] as T);
    }),
  );
}

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
