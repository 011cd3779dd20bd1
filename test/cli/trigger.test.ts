import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AccountStore } from '../../src/store/account-store';
import { openDatabase, type Database } from '../../src/store/database';
import { webhookTemplates } from '../../src/testing/webhooks';
import type { WebhookTemplate } from '../../src/testing/webhooks/types';
import { loadConfig, type Config } from '../../src/config';
import { providerNames } from '../../src/providers/registry';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import { startWorkerProcess, type RunningWorker } from '../../src/run/worker';
import { sandboxProviderSettings, startProviderSandbox, type ProviderSandbox } from '../../src/testing/sandbox/server';
import { eventually } from '../support/eventually';

const bin = path.resolve(__dirname, '../../bin/billflow.js');
const run = promisify(execFile);
const secret = `trigger-test-${randomUUID()}`;
const silent = pino({ level: 'silent' });
const secretFor = (template: WebhookTemplate) => (template.signing === 'basic' ? `billflow:${secret}` : secret);

const templates = providerNames.map((name) => {
  const template = webhookTemplates.get(name);
  if (!template) throw new Error(`billflow trigger cannot send as ${name}, a provider the receiver knows`);
  return template;
});

interface Outcome {
  code: number;
  stdout: string;
}

/** `npx billflow trigger …` as a user types it, from another process. */
async function billflowTrigger(args: string[]): Promise<Outcome> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  try {
    const { stdout } = await run(process.execPath, [bin, 'trigger', ...args], { env, timeout: 30_000 });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const workflowsIn = (stdout: string) => [...stdout.matchAll(/^workflow: (\S+:\S+)$/gm)].map((match) => match[1] ?? '');

describe('billflow trigger against a running receiver', () => {
  let sandbox: ProviderSandbox;
  let database: Database;
  let worker: RunningWorker;
  let receiver: RunningReceiver;
  let client: Client;
  let config: Config;

  beforeAll(async () => {
    sandbox = await startProviderSandbox({ host: '127.0.0.1' });
    config = loadConfig({
      ...Object.assign({}, ...templates.map((template) => template.receiverEnvironment(secretFor(template)))),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `trigger-${randomUUID()}`,
      // Every provider's API is the sandbox, as under `billflow dev` without credentials.
      ...sandboxProviderSettings(sandbox, {}),
      PORT: '0',
      HOST: '127.0.0.1',
    });
    database = await openDatabase({});
    worker = await startWorkerProcess(config, silent, { store: new AccountStore(database) });
    receiver = await startReceiver(config, silent);
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  });

  afterAll(async () => {
    await receiver?.close();
    await worker?.close();
    await client?.connection.close();
    await database?.close();
    await sandbox?.close();
  });

  it('gocardless mandates.cancelled: seeds the sandbox, is accepted, and the workflow suspends the account', async () => {
    const customer = `CU${randomUUID().slice(0, 8).toUpperCase()}`;
    const { code, stdout } = await billflowTrigger(['gocardless', 'mandates.cancelled', '--customer', customer, '--url', receiver.url, '--secret', secret, '--sandbox-url', sandbox.url]);
    expect(code, stdout).toBe(0);
    const mandate = /^seeded sandbox: mandate (MD\w+) \(cancelled, customer (\w+)\)$/m.exec(stdout);
    expect(mandate?.[2]).toBe(customer);
    expect(stdout).toMatch(new RegExp(`^POST ${receiver.url}/webhooks/gocardless  gocardless mandates.cancelled, event EV\\w+$`, 'm'));
    expect(stdout).toMatch(/^200 OK {2}\{"accepted":1\}$/m);
    expect(stdout).toMatch(/^request id: [0-9a-f-]{36}$/m);
    expect(workflowsIn(stdout)).toEqual([`gocardless:mandate:${mandate?.[1]}`]);

    const handle = client.workflow.getHandle(`gocardless:mandate:${mandate?.[1]}`);
    await eventually(async () => {
      const attributes = (await handle.describe()).typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value]);
      expect(attributes).toEqual(expect.arrayContaining([['BillingStatus', 'suspended'], ['BillingCustomer', customer]]));
    });
  });

  it('gocardless mandates.reinstated with a given mandate: the same workflow reinstates', async () => {
    const mandate = `MD${randomUUID().slice(0, 8).toUpperCase()}`;
    const common = ['--mandate', mandate, '--customer', 'CU000REINSTATE', '--url', receiver.url, '--secret', secret, '--sandbox-url', sandbox.url];
    expect((await billflowTrigger(['gocardless', 'mandates.cancelled', ...common])).code).toBe(0);
    const handle = client.workflow.getHandle(`gocardless:mandate:${mandate}`);
    const statusOf = async () => (await handle.describe()).typedSearchAttributes.getAll().find((pair) => pair.key.name === 'BillingStatus')?.value;
    await eventually(async () => expect(await statusOf()).toBe('suspended'));
    const reinstated = await billflowTrigger(['gocardless', 'mandates.reinstated', ...common]);
    expect(reinstated.stdout).toContain(`seeded sandbox: mandate ${mandate} (active, customer CU000REINSTATE)`);
    expect(workflowsIn(reinstated.stdout)).toEqual([`gocardless:mandate:${mandate}`]);
    await eventually(async () => expect(await statusOf()).toBe('active'));
  });

  it.each(templates.map((template) => [template.provider, template] as const))(
    '%s: the example event seeds the sandbox, is accepted, and every workflow it reaches takes it up',
    async (provider, template) => {
      const { code, stdout } = await billflowTrigger([provider, template.example, '--url', receiver.url, '--secret', secretFor(template), '--sandbox-url', sandbox.url]);
      expect(code, stdout).toBe(0);
      expect(stdout).toMatch(/^seeded sandbox: /m);
      expect(stdout).toMatch(new RegExp(`^POST ${receiver.url}/webhooks/${provider}\\S*  ${provider} ${template.example.replace('.', '\\.')}, event \\S+`, 'm'));
      expect(stdout).toMatch(/^20[04]\b/m);
      const workflows = workflowsIn(stdout);
      if (workflows.length === 0) expect(stdout).toContain('workflow: none');
      for (const id of workflows) {
        // The workflow confirmed the event with the (sandboxed) provider and published its state.
        await eventually(async () => {
          const attributes = (await client.workflow.getHandle(id).describe()).typedSearchAttributes.getAll();
          expect(attributes.map((pair) => pair.key.name)).toContain('BillingStatus');
        });
      }
    },
  );

  it.each(templates.filter((template) => template.signing !== 'none').map((template) => [template.provider, template] as const))(
    '%s: signed with the wrong secret, it is refused and trigger exits 1',
    async (provider, template) => {
      const wrong = template.signing === 'basic' ? 'billflow:wrong' : 'wrong-secret';
      const { code, stdout } = await billflowTrigger([provider, template.example, '--url', receiver.url, '--secret', wrong, '--no-seed']);
      expect(code).toBe(1);
      expect(stdout).toMatch(/^4\d\d\b/m);
      expect(stdout).not.toMatch(/^workflow:/m);
    },
  );

  it('says so when no sandbox answers, and still delivers', async () => {
    const { code, stdout } = await billflowTrigger(['gocardless', 'payments.failed', '--url', receiver.url, '--secret', secret, '--sandbox-url', 'http://127.0.0.1:9']);
    expect(code).toBe(0);
    expect(stdout).toContain('no provider sandbox at http://127.0.0.1:9: nothing seeded');
    expect(stdout).toMatch(/^20[04]\b/m);
  });
});
