import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore } from '../../src/store/account-store';
import { openDatabase } from '../../src/store/database';
import type { Config } from '../../src/config';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import type { RecordedRequest } from '../../src/testing/sandbox/request-log';
import { startProviderSandbox, type ProviderSandbox } from '../../src/testing/sandbox/server';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { makeTempDir } from '../support/database';
import { e2eConfig, goCardlessBatch, postGoCardless } from '../workflows/support/e2e';
import { uniqueId } from '../workflows/support/harness';

const workerScript = path.resolve(__dirname, '../workflows/support/worker-process.ts');

/** A billflow worker in a child process, as production runs one; resolves once it polls. */
async function spawnWorker(config: Config, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', workerScript], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TEMPORAL_ADDRESS: config.temporal.address,
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      GOCARDLESS_ACCESS_TOKEN: config.gocardless.accessToken ?? '',
      GOCARDLESS_API_URL: config.gocardless.apiUrl,
      BILLFLOW_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('worker ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${output}`)));
  });
  return child;
}

/**
 * The worker dies (SIGKILL: no shutdown, no goodbye to Temporal) in the middle of a dunning
 * schedule, while the next retry's timer is running; the timer fires while no worker is up.
 * A new worker picks the schedule up where it stood: each step's retry reaches GoCardless once,
 * with its own idempotency key, and the schedule runs to its end.
 */
describe('a worker killed in the middle of a dunning schedule', () => {
  let sandbox: ProviderSandbox;
  let receiver: RunningReceiver;
  let client: Client;
  let config: Config;
  let dataDir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    sandbox = await startProviderSandbox({ host: '127.0.0.1' });
    config = e2eConfig(sandbox, { BILLFLOW_DUNNING_SCHEDULE: '500ms,1500ms,500ms' });
    dataDir = await makeTempDir();
    receiver = await startReceiver(config, pino({ level: 'silent' }));
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await receiver?.close();
    await client?.connection.close();
    await sandbox?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes where it stood and retries no step twice', async () => {
    const customer = uniqueId('CU');
    const mandate = sandbox.seedMandate({ customerId: customer, status: 'active' });
    const subscription = sandbox.state.gocardless.seedSubscription({ mandateId: mandate.id });
    const payment = sandbox.seedPayment({ mandateId: mandate.id, subscriptionId: subscription.id, status: 'failed' }).id;
    const workflowId = `gocardless:subscription:${subscription.id}`;
    const handle = client.workflow.getHandle(workflowId);
    const retries = (): RecordedRequest[] =>
      sandbox.requests.filter((request) => request.method === 'POST' && request.path === `/gocardless/payments/${payment}/actions/retry`);
    const failed = async () => {
      sandbox.state.gocardless.setPaymentStatus(payment, 'failed');
      const { body } = goCardlessBatch([{ resource_type: 'payments', action: 'failed', links: { payment }, details: { will_attempt_retry: false } }]);
      expect((await postGoCardless(receiver, body)).status).toBe(200);
    };

    const first = await spawnWorker(config, dataDir);
    children.push(first);
    await failed();
    await eventually(async () => expect(retries()).toHaveLength(1));
    await failed();
    const standing = await eventually(async () => {
      const state = await handle.query(subscriptionStateQuery);
      expect(state.dunning[0]).toMatchObject({ stage: 'retry_scheduled', retriesMade: 1 });
      return state;
    });
    first.kill('SIGKILL');
    await once(first, 'exit');

    // The second retry falls due while no worker runs: nothing happens until one is back.
    const dueAt = standing.dunning[0]?.dueAt as number;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now()) + 1000));
    expect(retries()).toHaveLength(1);

    const second = await spawnWorker(config, dataDir);
    children.push(second);
    await eventually(async () => expect(retries()).toHaveLength(2), 45_000);
    await failed();
    await eventually(async () => expect(retries()).toHaveLength(3));
    await failed();
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('suspended'));

    expect(retries().map((request) => request.headers['idempotency-key'])).toEqual([1, 2, 3].map((step) => `${workflowId}:dunning:${payment}:${step}`));
    expect(sandbox.state.gocardless.payments.get(payment)?.retries).toBe(3);

    second.kill('SIGTERM');
    expect((await once(second, 'exit'))[0]).toBe(0);
    const database = await openDatabase({ dataDir });
    try {
      const account = await new AccountStore(database).get('gocardless', customer);
      expect(account?.status).toBe('suspended');
      expect(account?.history.map((change) => change.action)).toEqual(['suspend']);
    } finally {
      await database.close();
    }
  }, 120_000);
});
