import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchUpWorkflowId, startCatchUp } from '../../src/catch-up/start';
import type { Config } from '../../src/config';
import { getFreePort } from '../../src/free-port';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import { AccountStore } from '../../src/store/account-store';
import { openDatabase, type Database } from '../../src/store/database';
import { cancellationsHappen, type HappenedAtProviders } from '../../src/testing/outage-events';
import { ProviderSender } from '../../src/testing/provider-sender';
import { startProviderSandbox, type ProviderSandbox } from '../../src/testing/sandbox/server';
import { temporalConnectionOptions } from '../../src/temporal/connection';
import { routeTemporalLogs } from '../../src/temporal/runtime-logging';
import { startWorker, type BillflowWorker } from '../../src/temporal/worker';
import { catchUpNowSignal, catchUpStateQuery, type CatchUpView } from '../../workflows/catch-up';
import { mandateStateQuery } from '../../workflows/mandate';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { e2eConfig } from '../workflows/support/e2e';
import { activitiesFor } from '../workflows/support/worker-activities';

/*
 * The outage: a provider-like sender delivers webhooks while the receiver is down and gives up on
 * them after its (shortened) retry horizon; then the provider rotates its webhook secret before
 * billflow knows the new one, and those deliveries are refused until the sender gives up too. After
 * recovery, catch-up reads GoCardless's and Stripe's event lists and Recurly's subscriptions by
 * state: every event is applied once, every effect (an account suspended or its access ended, a
 * mandate confirmed at GoCardless) happens once, and the events that came by both roads are counted
 * as duplicates — Recurly's states as reconciled, which their workflows, holding them already from
 * the webhook, take as no-ops.
 */

const silent = pino({ level: 'silent' });
const oldSecret = { gocardless: 'gocardless-secret-before-rotation', stripe: 'whsec_before_rotation', recurly: 'recurly-secret-before-rotation' };
const newSecret = { gocardless: 'gocardless-secret-after-rotation', stripe: 'whsec_after_rotation', recurly: 'recurly-secret-after-rotation' };
type Secrets = typeof oldSecret;
const providers = ['gocardless', 'stripe', 'recurly'] as const;
type Phase = 'before' | 'receiver down' | 'secret rotated' | 'after recovery';
const perPhase = 3;

interface Happened extends HappenedAtProviders {
  phase: Phase;
}

describe('catch-up from the event lists after webhooks were lost to an outage and a secret rotation', () => {
  let sandbox: ProviderSandbox;
  let database: Database;
  let store: AccountStore;
  let worker: BillflowWorker;
  let receiver: RunningReceiver | undefined;
  let client: Client;
  let config: Config;
  let port: number;
  let metricsUrl: string;
  const happened: Happened[] = [];
  const sender = new ProviderSender({ receiverUrl: () => `http://127.0.0.1:${port}`, horizonMs: 1500, retryEveryMs: 200, attemptTimeoutMs: 2000 });

  const receiverConfig = (secrets: Secrets) =>
    e2eConfig(sandbox, { ...settings(), GOCARDLESS_WEBHOOK_SECRET: secrets.gocardless, STRIPE_WEBHOOK_SECRET: secrets.stripe, RECURLY_WEBHOOK_SECRET: secrets.recurly, PORT: String(port) });
  let settings: () => Record<string, string>;

  beforeAll(async () => {
    const metricsPort = await getFreePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    // The worker's metrics endpoint, where billflow_reconciled_events_total is served.
    routeTemporalLogs(silent, { metricsBindAddress: `127.0.0.1:${metricsPort}` });
    sandbox = await startProviderSandbox({ host: '127.0.0.1' });
    port = await getFreePort();
    const taskQueue = `catch-up-${randomUUID()}`;
    settings = () => ({ TEMPORAL_TASK_QUEUE: taskQueue, BILLFLOW_CATCH_UP: 'gocardless,stripe,recurly', BILLFLOW_CATCH_UP_INTERVAL: '1 hour', BILLFLOW_CATCH_UP_FIRST_LOOKBACK: '1 hour' });
    config = receiverConfig(oldSecret);
    database = await openDatabase({});
    store = new AccountStore(database);
    worker = await startWorker(config, activitiesFor(config, store), silent);
    client = new Client({ connection: await Connection.connect(temporalConnectionOptions(config.temporal)), namespace: config.temporal.namespace });
    for (const provider of providers) sender.useSecret(provider, oldSecret[provider]);
  });

  afterAll(async () => {
    await receiver?.close();
    await worker?.shutdown();
    await client?.connection.close();
    await database?.close();
    await sandbox?.close();
  });

  /** Something happens at both providers: the sandbox lists it, and the sender tries to deliver its webhooks. */
  async function happen(phase: Phase): Promise<{ gocardless: string; stripe: string; recurly: string }> {
    const { gocardless, stripe, recurly } = cancellationsHappen(sandbox);
    happened.push({ phase, gocardless, stripe, recurly });
    const [goCardlessOutcome, stripeOutcome, recurlyOutcome] = await Promise.all([
      sender.send('gocardless', gocardless.body),
      sender.send('stripe', stripe.body),
      sender.send('recurly', recurly.body, recurly.headers),
    ]);
    return { gocardless: goCardlessOutcome, stripe: stripeOutcome, recurly: recurlyOutcome };
  }
  const all = (outcome: string) => ({ gocardless: outcome, stripe: outcome, recurly: outcome });

  const accountsDone = async (of: Happened[]) => {
    for (const { gocardless, stripe, recurly } of of) {
      expect((await store.get('gocardless', gocardless.customer))?.status).toBe('suspended');
      expect((await store.get('stripe', stripe.customer))?.status).toBe('closed');
      expect((await store.get('recurly', recurly.customer))?.status).toBe('closed');
    }
  };
  const stateOf = (provider: (typeof providers)[number]) => client.workflow.getHandle(catchUpWorkflowId(provider, config.temporal.taskQueue)).query(catchUpStateQuery);

  it('applies what the webhooks missed, once, and counts what came by both roads as duplicates', async () => {
    receiver = await startReceiver(config, silent);
    for (let index = 0; index < perPhase; index += 1) expect(await happen('before')).toEqual(all('delivered'));

    await receiver.close();
    receiver = undefined;
    for (let index = 0; index < perPhase; index += 1) expect(await happen('receiver down')).toEqual(all('gave-up'));

    // Back up, but the providers now sign with a secret billflow has not been given yet.
    receiver = await startReceiver(config, silent);
    for (const provider of providers) sender.useSecret(provider, newSecret[provider]);
    for (let index = 0; index < perPhase; index += 1) expect(await happen('secret rotated')).toEqual(all('gave-up'));

    await receiver.close();
    const both = Object.fromEntries(providers.map((provider) => [provider, `${oldSecret[provider]},${newSecret[provider]}`])) as Secrets;
    receiver = await startReceiver(receiverConfig(both), silent);
    for (let index = 0; index < perPhase; index += 1) expect(await happen('after recovery')).toEqual(all('delivered'));

    const delivered = happened.filter(({ phase }) => phase === 'before' || phase === 'after recovery');
    const lost = happened.filter(({ phase }) => phase === 'receiver down' || phase === 'secret rotated');
    await eventually(() => accountsDone(delivered));
    // Without catch-up the lost ones stay lost: nothing of theirs reached a workflow.
    for (const { gocardless, stripe, recurly } of lost) {
      expect(await store.get('gocardless', gocardless.customer)).toBeUndefined();
      expect(await store.get('stripe', stripe.customer)).toBeUndefined();
      expect(await store.get('recurly', recurly.customer)).toBeUndefined();
    }

    expect(await startCatchUp(client, config)).toEqual([...providers]);
    await eventually(() => accountsDone(happened), 30_000);
    const expected = { recovered: 2 * perPhase, duplicate: 2 * perPhase, ignored: 0, unusable: 0, reconciled: 0 };
    // Every Recurly state is handed on: the webhooks' ids are not the states'.
    const reconciled = { recovered: 0, duplicate: 0, ignored: 0, unusable: 0, reconciled: 4 * perPhase };
    const states = await eventually(async () => {
      const read = [await stateOf('gocardless'), await stateOf('stripe'), await stateOf('recurly')] as const;
      expect(read.map((state) => state.totals)).toEqual([expected, expected, reconciled]);
      return read;
    });
    for (const state of states) expect(state.sweeps).toBe(1);

    // Every effect once: one confirmation at GoCardless per mandate, one account change each, and
    // the workflows dropped nothing because catch-up signalled only what they lacked.
    for (const { gocardless, stripe, recurly, phase } of happened) {
      expect(sandbox.requests.filter((request) => request.method === 'GET' && request.path === `/gocardless/mandates/${gocardless.mandate}`)).toHaveLength(1);
      expect((await store.get('gocardless', gocardless.customer))?.history).toHaveLength(1);
      expect((await store.get('stripe', stripe.customer))?.history).toHaveLength(1);
      expect((await store.get('recurly', recurly.customer))?.history).toHaveLength(1);
      // The expiry confirmed with Recurly once, by whichever road came first; the other was a no-op.
      expect(sandbox.requests.filter((request) => request.method === 'GET' && request.path === `/recurly/subscriptions/uuid-${recurly.subscription}`)).toHaveLength(1);
      const recurlyState = await client.workflow.getHandle(`recurly:subscription:${recurly.subscription}`).query(subscriptionStateQuery);
      expect(recurlyState.eventsApplied).toBe(phase === 'before' || phase === 'after recovery' ? 2 : 1);
      expect(recurlyState.lastEvent?.outcome).toMatch(phase === 'before' || phase === 'after recovery' ? /^ignored: / : /^access ended$/);
      const mandate = await client.workflow.getHandle(`gocardless:mandate:${gocardless.mandate}`).query(mandateStateQuery);
      expect(mandate.duplicatesDropped).toBe(0);
    }

    const metrics = await (await fetch(metricsUrl)).text();
    for (const [provider, outcome, count] of [
      ['gocardless', 'recovered', 2 * perPhase], ['gocardless', 'duplicate', 2 * perPhase],
      ['stripe', 'recovered', 2 * perPhase], ['stripe', 'duplicate', 2 * perPhase],
      ['recurly', 'reconciled', 4 * perPhase],
    ] as const) {
      const line = metrics.split('\n').find((row) => row.startsWith('billflow_reconciled_events_total') && row.includes(`provider="${provider}"`) && row.includes(`outcome="${outcome}"`));
      expect(line, `${provider} ${outcome} in\n${metrics.split('\n').filter((row) => row.includes('reconciled')).join('\n')}`).toBeDefined();
      expect(Number(line?.split(' ').at(-1))).toBe(count);
    }
  });

  it('keeps its cursor across a worker restart: the next sweep takes only what happened since', async () => {
    await worker.shutdown();
    // While no worker runs, one more event's webhook is lost too.
    await receiver?.close();
    receiver = undefined;
    expect(await happen('receiver down')).toEqual(all('gave-up'));
    worker = await startWorker(config, activitiesFor(config, store), silent);
    // A deploy: the worker starts catch-up again, which must neither start a second workflow nor reset the cursor.
    await startCatchUp(client, config);
    for (const provider of providers) await client.workflow.getHandle(catchUpWorkflowId(provider, config.temporal.taskQueue)).signal(catchUpNowSignal);
    await eventually(() => accountsDone(happened), 30_000);
    const totals = { recovered: 2 * perPhase + 1, duplicate: 2 * perPhase, ignored: 0, unusable: 0, reconciled: 0 };
    const none = { recovered: 0, duplicate: 0, ignored: 0, unusable: 0, reconciled: 0 };
    await eventually(async () => {
      for (const provider of providers) {
        const state: CatchUpView = await stateOf(provider);
        const recurly = provider === 'recurly';
        expect(state.totals).toEqual(recurly ? { ...none, reconciled: 4 * perPhase + 1 } : totals);
        expect(state.lastSweep?.counts).toEqual(recurly ? { ...none, reconciled: 1 } : { ...none, recovered: 1 });
      }
    });
    for (const { gocardless } of happened) {
      expect(sandbox.requests.filter((request) => request.method === 'GET' && request.path === `/gocardless/mandates/${gocardless.mandate}`)).toHaveLength(1);
    }
  });
});
