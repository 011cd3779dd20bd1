import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../activities';
import { AccountStore } from '../src/store/account-store';
import { openDatabase, type Database } from '../src/store/database';
import { trigger, type TriggerResult } from '../src/cli/trigger';
import { webhookTemplates } from '../src/testing/webhooks';
import type { WebhookTemplate } from '../src/testing/webhooks/types';
import { loadConfig, type Config } from '../src/config';
import { createLogger } from '../src/logger';
import { providerNames } from '../src/providers/registry';
import { startReceiver, type RunningReceiver } from '../src/run/receiver';
import { startProviderSandbox, type ProviderSandbox } from '../src/testing/sandbox/server';
import { startWorker, type BillflowWorker } from '../src/temporal/worker';
import { eventually } from './support/eventually';

type LogLine = Record<string, unknown> & { msg?: string; requestId?: string };

const secret = `log-test-secret-${randomUUID()}`;
const basicPassword = `basic-password-${randomUUID()}`;
const captured: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    captured.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
// Everything, the Temporal SDK's own logs included, at debug: the most a deployment could log.
const logger = createLogger({ level: 'debug', pretty: false }, sink);
const lines = (): LogLine[] => captured.map((line) => JSON.parse(line) as LogLine);

const secretFor = (template: WebhookTemplate) => (template.signing === 'basic' ? `billflow:${secret}` : secret);

/** Every provider that exists must have a trigger template, so that this test covers it. */
const templates = providerNames.map((name) => {
  const template = webhookTemplates.get(name);
  if (!template) throw new Error(`no trigger template for provider ${name}`);
  return template;
});

describe('logs of real deliveries, good and forged, for every provider', () => {
  let sandbox: ProviderSandbox;
  let database: Database;
  let worker: BillflowWorker;
  let receiver: RunningReceiver;
  let client: Client;
  let config: Config;
  const sent: TriggerResult[] = [];
  const good: TriggerResult[] = [];

  beforeAll(async () => {
    sandbox = await startProviderSandbox({ host: '127.0.0.1' });
    config = loadConfig({
      ...Object.assign({}, ...templates.map((template) => template.receiverEnvironment(secretFor(template)))),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `logging-${randomUUID()}`,
      GOCARDLESS_ACCESS_TOKEN: sandbox.accessToken,
      GOCARDLESS_API_URL: sandbox.urls.gocardless,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
    });
    database = await openDatabase({});
    const activities = createActivities({ store: new AccountStore(database), providers: config });
    worker = await startWorker(config, activities, logger);
    receiver = await startReceiver(config, logger);
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });

    const print = (line: string) => logger.debug({ trigger: line }, 'trigger output');
    for (const template of templates) {
      const options = { url: receiver.url, sandboxUrl: sandbox.url, seed: true, dryRun: false };
      const accepted = await trigger(template.provider, template.example, { ...options, secret: secretFor(template) }, config, print);
      expect(accepted.status, `${template.provider}: ${accepted.body}`).toBeLessThan(300);
      good.push(accepted);
      sent.push(accepted);
      // CCBill signs nothing (its source addresses are its proof): there is nothing to forge.
      if (template.signing === 'none') continue;
      const forgedSecret = template.signing === 'basic' ? `billflow:forged-${secret}` : `forged-${secret}`;
      const forged = await trigger(template.provider, template.example, { ...options, secret: forgedSecret }, config, print);
      expect(forged.status).toBeGreaterThanOrEqual(400);
      sent.push(forged);
      // Unsigned, and with Basic credentials the provider never asked for.
      const basic = `Basic ${Buffer.from(`billflow:${basicPassword}`).toString('base64')}`;
      const contentType = accepted.webhook.headers['content-type'] ?? 'application/json';
      const attempts: Record<string, string>[] = [{ 'content-type': contentType }, { 'content-type': contentType, authorization: basic }];
      for (const headers of attempts) {
        const response = await fetch(accepted.url, { method: 'POST', headers, body: accepted.webhook.body });
        expect(response.status).toBeGreaterThanOrEqual(400);
      }
    }
    for (const accepted of good) {
      for (const workflowId of accepted.workflowIds) {
        await eventually(async () => {
          const attributes = (await client.workflow.getHandle(workflowId).describe()).typedSearchAttributes;
          expect(attributes.getAll().map((pair) => pair.key.name)).toContain('BillingStatus');
        });
      }
    }
  });

  afterAll(async () => {
    await receiver?.close();
    await worker?.shutdown();
    await client?.connection.close();
    await database?.close();
    await sandbox?.close();
  });

  it('never contains a secret, a signature, a token or a Basic credential', () => {
    expect(captured.length).toBeGreaterThan(50);
    const forbidden = new Set<string>([secret, basicPassword, sandbox.accessToken, Buffer.from(`billflow:${basicPassword}`).toString('base64')]);
    for (const template of templates) forbidden.add(Buffer.from(`billflow:${secret}`).toString('base64')).add(secretFor(template));
    for (const { webhook } of sent) {
      for (const [name, value] of Object.entries(webhook.headers)) {
        // Everything else a provider sends in a header is a signature or a credential.
        if (['content-type', 'user-agent', 'recurly-notification-id'].includes(name.toLowerCase())) continue;
        forbidden.add(value);
        // Not even a recognisable part of one: any 16 characters in a row.
        for (let start = 0; start + 16 <= value.length; start += 8) forbidden.add(value.slice(start, start + 16));
      }
    }
    for (const value of forbidden) {
      const line = captured.find((candidate) => candidate.includes(value));
      expect(line === undefined, `a log line contains ${value.slice(0, 4)}…: ${line?.slice(0, 300)}`).toBe(true);
    }
  });

  it('puts provider, event id, workflow id and request id on the lines about a delivery', () => {
    const all = lines();
    for (const accepted of good) {
      const request = all.filter((line) => line.msg === 'request done' && (line.eventIds as string[] | undefined)?.includes(accepted.eventIds[0] ?? '-'));
      expect(request, `request done line of ${accepted.url}`).toHaveLength(1);
      const requestId = request[0]?.requestId;
      const about = all.filter((line) => line.requestId === requestId);
      for (const line of about) expect(line).toMatchObject({ provider: expect.any(String), eventIds: accepted.eventIds });
      for (const workflowId of accepted.workflowIds) {
        const signalled = request[0];
        expect(signalled?.workflowIds).toContain(workflowId);
        // The worker's lines about the same delivery carry the workflow id.
        expect(all.some((line) => line.component === 'temporal' && line.workflowId === workflowId)).toBe(true);
      }
    }
    // Refused deliveries still tell which provider and request.
    const refused = all.filter((line) => line.msg === 'request refused');
    expect(refused.length).toBe(templates.filter((template) => template.signing !== 'none').length * 3);
    for (const line of refused) expect(line).toMatchObject({ provider: expect.any(String), requestId: expect.any(String), reason: expect.any(String) });
  });

  it('keeps webpack build statistics out of info', () => {
    const webpack = lines().filter((line) => /webpack [\d.]+ compiled/.test(line.msg ?? ''));
    expect(webpack.length).toBeGreaterThan(0);
    for (const line of webpack) expect(line.level).toBe(20);
  });
});
