import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createLogger, loadConfig } from 'billflow';
import type { RunningReceiver } from 'billflow/receiver';
import {
  buildWebhook,
  readHistoryFile,
  sandboxProviderSettings,
  seedSandbox,
  sendWebhook,
  startProviderSandbox,
  startTemporalDevServer,
  type DevServer,
  type ProviderSandbox,
  type TestWebhook,
} from 'billflow/testing';
import type { RunningWorker } from 'billflow/worker';
import { startAppReceiver } from '../src/receiver';
import type { WinBackOffer } from '../src/win-back/activities';
import { winBackStateQuery } from '../src/win-back/workflow';
import { startAppWorker } from '../src/worker';

/*
 * This project as it runs: a Temporal dev server, the provider sandbox in place of the providers'
 * APIs, the project's own worker (billflow's workflows and the win-back workflow) and receiver
 * (billflow's, with the win-back route). Webhooks are signed as the providers sign them.
 */
const stripeSecret = 'starter-test-stripe-secret';
const offerDelay = '2 seconds';

describe('the starter project on billflow', () => {
  let temporal: DevServer;
  let sandbox: ProviderSandbox;
  let worker: RunningWorker;
  let receiver: RunningReceiver;
  let client: Client;
  let dataDir: string;
  const offers: WinBackOffer[] = [];

  before(async () => {
    temporal = await startTemporalDevServer();
    sandbox = await startProviderSandbox({ host: '127.0.0.1' });
    dataDir = await mkdtemp(path.join(tmpdir(), 'billflow-starter-'));
    const config = loadConfig({
      ...sandboxProviderSettings(sandbox, {}),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'starter-test',
      STRIPE_WEBHOOK_SECRET: stripeSecret,
      CCBILL_ALLOWED_IPS: '127.0.0.1,::1',
      BILLFLOW_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      WORKER_METRICS_PORT: '0',
    });
    const logger = createLogger({ level: 'warn', pretty: false });
    worker = await startAppWorker(config, logger, { send: async (offer) => void offers.push(offer) });
    receiver = await startAppReceiver(config, logger, { winBackDelay: offerDelay });
    client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  });

  after(async () => {
    await receiver?.close();
    await worker?.close();
    await client?.connection.close();
    await sandbox?.close();
    await temporal?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const offersFor = (subscription: string) => offers.filter((offer) => offer.subscriptionId === subscription);

  it('sends the win-back offer after a cancellation, once, while billflow\'s own workflow handles it too', async () => {
    const cancelled = buildWebhook('stripe', 'customer.subscription.updated', { secret: stripeSecret });
    await seedSandbox(sandbox.url, cancelled);
    const { subscription, customer } = cancelled.references;
    assert.ok(subscription && customer);

    const response = await sendWebhook(receiver.url, cancelled);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { accepted: 1 });

    const winBack = client.workflow.getHandle(`stripe:win-back:${subscription}`);
    assert.equal((await winBack.describe()).type, 'winBackWorkflow');
    const own = client.workflow.getHandle(`stripe:subscription:${subscription}`);
    assert.equal((await own.describe()).type, 'subscriptionWorkflow');
    await eventually(async () => assert.equal((await own.query<{ status: string }>('subscriptionState')).status, 'cancelling'));

    await eventually(async () =>
      assert.deepEqual(offersFor(subscription), [
        { provider: 'stripe', subscriptionId: subscription, customerId: customer, idempotencyKey: `stripe:win-back:${subscription}:offer:${eventId(cancelled)}` },
      ]),
    );
    // Stripe redelivers the cancellation: the workflow's inbox drops it, no second offer.
    assert.equal((await sendWebhook(receiver.url, cancelled)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(offersFor(subscription).length, 1);
    assert.equal((await winBack.query(winBackStateQuery)).offersSent, 1);
  });

  it('sends nothing when the subscription is reactivated before the offer is due', async () => {
    const cancelled = buildWebhook('ccbill', 'Cancellation');
    const subscription = cancelled.references.subscription;
    assert.ok(subscription);
    const reactivated = buildWebhook('ccbill', 'UserReactivation', { references: cancelled.references, now: new Date(Date.now() + 1000) });
    await seedSandbox(sandbox.url, cancelled);
    assert.equal((await sendWebhook(receiver.url, cancelled)).status, 200);
    assert.equal((await sendWebhook(receiver.url, reactivated)).status, 200);

    const winBack = client.workflow.getHandle(`ccbill:win-back:${subscription}`);
    await eventually(async () => assert.equal((await winBack.query(winBackStateQuery)).cancellationId, undefined));
    await eventually(async () => assert.ok((await winBack.query(winBackStateQuery)).changedAt));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(offersFor(subscription), []);
    const state = await winBack.query(winBackStateQuery);
    assert.equal(state.offersSent, 0);
    assert.equal(state.offerDueAt, undefined);
    assert.equal((await client.workflow.getHandle(`ccbill:subscription:${subscription}`).describe()).type, 'subscriptionWorkflow');
  });

  it('replays the recorded history of a win-back offer against today\'s workflow code', async () => {
    const history = await readHistoryFile(path.join(__dirname, 'histories/win-back-offer-sent.json'));
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../src/workflows'), replayName: 'starter-replay' }, history, 'win-back-offer-sent');
  });
});

function eventId(webhook: TestWebhook): string {
  return (JSON.parse(webhook.body) as { id: string }).id;
}

/** Retries `check` until it passes or `timeoutMs` runs out, then throws its last failure. */
async function eventually(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
