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
import { eventually } from '../support/eventually';
import { e2eConfig } from '../workflows/support/e2e';
import { activitiesFor } from '../workflows/support/worker-activities';

/*
 * The outage: a provider-like sender delivers webhooks while the receiver is down and gives up on
 * them after its (shortened) retry horizon; then the provider rotates its webhook secret before
 * billflow knows the new one, and those deliveries are refused until the sender gives up too. After
 * recovery, catch-up reads both providers' event lists: every event is applied once, every effect
 * (an account suspended or closed, a mandate confirmed at GoCardless) happens once, and the events
 * that came by both roads are counted as duplicates.
 */

const silent = pino({ level: 'silent' });
const oldSecret = { gocardless: 'gocardless-secret-before-rotation', stripe: 'whsec_before_rotation' };
const newSecret = { gocardless: 'gocardless-secret-after-rotation', stripe: 'whsec_after_rotation' };
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

  const receiverConfig = (secrets: { gocardless: string; stripe: string }) =>
    e2eConfig(sandbox, { ...settings(), GOCARDLESS_WEBHOOK_SECRET: secrets.gocardless, STRIPE_WEBHOOK_SECRET: secrets.stripe, PORT: String(port) });
  let settings: () => Record<string, string>;

  beforeAll(async () => {
    const metricsPort = await getFreePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    // The worker's metrics endpoint, where billflow_reconciled_events_total is served.
    routeTemporalLogs(silent, { metricsBindAddress: `127.0.0.1:${metricsPort}` });
    sandbox = await startProviderSandbox({ host: '127.0.0.1' });
    port = await getFreePort();
    const taskQueue = `catch-up-${randomUUID()}`;
    settings = () => ({ TEMPORAL_TASK_QUEUE: taskQueue, BILLFLOW_CATCH_UP: 'gocardless,stripe', BILLFLOW_CATCH_UP_INTERVAL: '1 hour', BILLFLOW_CATCH_UP_FIRST_LOOKBACK: '1 hour' });
    config = receiverConfig(oldSecret);
    database = await openDatabase({});
    store = new AccountStore(database);
    worker = await startWorker(config, activitiesFor(config, store), silent);
    client = new Client({ connection: await Connection.connect(temporalConnectionOptions(config.temporal)), namespace: config.temporal.namespace });
    sender.useSecret('gocardless', oldSecret.gocardless);
    sender.useSecret('stripe', oldSecret.stripe);
  });

  afterAll(async () => {
    await receiver?.close();
    await worker?.shutdown();
    await client?.connection.close();
    await database?.close();
    await sandbox?.close();
  });

  /** Something happens at both providers: the sandbox lists it, and the sender tries to deliver its webhooks. */
  async function happen(phase: Phase): Promise<{ gocardless: string; stripe: string }> {
    const { gocardless, stripe } = cancellationsHappen(sandbox);
    happened.push({ phase, gocardless, stripe });
    const [goCardlessOutcome, stripeOutcome] = await Promise.all([sender.send('gocardless', gocardless.body), sender.send('stripe', stripe.body)]);
    return { gocardless: goCardlessOutcome, stripe: stripeOutcome };
  }

  const accountsDone = async (of: Happened[]) => {
    for (const { gocardless, stripe } of of) {
      expect((await store.get('gocardless', gocardless.customer))?.status).toBe('suspended');
      expect((await store.get('stripe', stripe.customer))?.status).toBe('closed');
    }
  };
  const stateOf = (provider: 'gocardless' | 'stripe') => client.workflow.getHandle(catchUpWorkflowId(provider, config.temporal.taskQueue)).query(catchUpStateQuery);

  it('applies what the webhooks missed, once, and counts what came by both roads as duplicates', async () => {
    receiver = await startReceiver(config, silent);
    for (let index = 0; index < perPhase; index += 1) expect(await happen('before')).toEqual({ gocardless: 'delivered', stripe: 'delivered' });

    await receiver.close();
    receiver = undefined;
    for (let index = 0; index < perPhase; index += 1) expect(await happen('receiver down')).toEqual({ gocardless: 'gave-up', stripe: 'gave-up' });

    // Back up, but the providers now sign with a secret billflow has not been given yet.
    receiver = await startReceiver(config, silent);
    sender.useSecret('gocardless', newSecret.gocardless);
    sender.useSecret('stripe', newSecret.stripe);
    for (let index = 0; index < perPhase; index += 1) expect(await happen('secret rotated')).toEqual({ gocardless: 'gave-up', stripe: 'gave-up' });

    await receiver.close();
    receiver = await startReceiver(receiverConfig({ gocardless: `${oldSecret.gocardless},${newSecret.gocardless}`, stripe: `${oldSecret.stripe},${newSecret.stripe}` }), silent);
    for (let index = 0; index < perPhase; index += 1) expect(await happen('after recovery')).toEqual({ gocardless: 'delivered', stripe: 'delivered' });

    const delivered = happened.filter(({ phase }) => phase === 'before' || phase === 'after recovery');
    const lost = happened.filter(({ phase }) => phase === 'receiver down' || phase === 'secret rotated');
    await eventually(() => accountsDone(delivered));
    // Without catch-up the lost ones stay lost: nothing of theirs reached a workflow.
    for (const { gocardless, stripe } of lost) {
      expect(await store.get('gocardless', gocardless.customer)).toBeUndefined();
      expect(await store.get('stripe', stripe.customer)).toBeUndefined();
    }

    expect(await startCatchUp(client, config)).toEqual(['gocardless', 'stripe']);
    await eventually(() => accountsDone(happened), 30_000);
    const expected = { recovered: 2 * perPhase, duplicate: 2 * perPhase, ignored: 0, unusable: 0 };
    const [goCardlessState, stripeState] = await eventually(async () => {
      const states = [await stateOf('gocardless'), await stateOf('stripe')] as const;
      for (const state of states) expect(state.totals).toEqual(expected);
      return states;
    });
    for (const state of [goCardlessState, stripeState]) expect(state.sweeps).toBe(1);

    // Every effect once: one confirmation at GoCardless per mandate, one account change each, and
    // the workflows dropped nothing because catch-up signalled only what they lacked.
    for (const { gocardless, stripe } of happened) {
      expect(sandbox.requests.filter((request) => request.method === 'GET' && request.path === `/gocardless/mandates/${gocardless.mandate}`)).toHaveLength(1);
      expect((await store.get('gocardless', gocardless.customer))?.history).toHaveLength(1);
      expect((await store.get('stripe', stripe.customer))?.history).toHaveLength(1);
      const mandate = await client.workflow.getHandle(`gocardless:mandate:${gocardless.mandate}`).query(mandateStateQuery);
      expect(mandate.duplicatesDropped).toBe(0);
    }

    const metrics = await (await fetch(metricsUrl)).text();
    for (const provider of ['gocardless', 'stripe']) {
      for (const [outcome, count] of [['recovered', 2 * perPhase], ['duplicate', 2 * perPhase]] as const) {
        const line = metrics.split('\n').find((row) => row.startsWith('billflow_reconciled_events_total') && row.includes(`provider="${provider}"`) && row.includes(`outcome="${outcome}"`));
        expect(line, `${provider} ${outcome} in\n${metrics.split('\n').filter((row) => row.includes('reconciled')).join('\n')}`).toBeDefined();
        expect(Number(line?.split(' ').at(-1))).toBe(count);
      }
    }
  });

  it('keeps its cursor across a worker restart: the next sweep takes only what happened since', async () => {
    await worker.shutdown();
    // While no worker runs, one more event's webhook is lost too.
    await receiver?.close();
    receiver = undefined;
    expect(await happen('receiver down')).toEqual({ gocardless: 'gave-up', stripe: 'gave-up' });
    worker = await startWorker(config, activitiesFor(config, store), silent);
    // A deploy: the worker starts catch-up again, which must neither start a second workflow nor reset the cursor.
    await startCatchUp(client, config);
    for (const provider of ['gocardless', 'stripe'] as const) await client.workflow.getHandle(catchUpWorkflowId(provider, config.temporal.taskQueue)).signal(catchUpNowSignal);
    await eventually(() => accountsDone(happened), 30_000);
    const totals = { recovered: 2 * perPhase + 1, duplicate: 2 * perPhase, ignored: 0, unusable: 0 };
    await eventually(async () => {
      for (const provider of ['gocardless', 'stripe'] as const) {
        const state: CatchUpView = await stateOf(provider);
        expect(state.totals).toEqual(totals);
        expect(state.lastSweep?.counts).toEqual({ recovered: 1, duplicate: 0, ignored: 0, unusable: 0 });
      }
    });
    for (const { gocardless } of happened) {
      expect(sandbox.requests.filter((request) => request.method === 'GET' && request.path === `/gocardless/mandates/${gocardless.mandate}`)).toHaveLength(1);
    }
  });
});
