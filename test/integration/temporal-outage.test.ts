import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { getFreePort } from '../../src/free-port';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { signWebhookBody } from '../../src/testing/sign';

const secret = 'outage-test-secret';

function signedCancellation(mandateId: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    events: [
      {
        id: `EV${randomUUID().slice(0, 12)}`,
        created_at: new Date().toISOString(),
        resource_type: 'mandates',
        action: 'cancelled',
        links: { mandate: mandateId },
        details: { origin: 'bank', cause: 'bank_account_closed' },
      },
    ],
  });
  return { body, headers: signWebhookBody('gocardless', body, secret) };
}

/** With no worker on the task queue, a signal is still durable: it waits in the workflow's history. */
describe('when Temporal is down', () => {
  let dataDir: string;
  let dbFile: string;
  let port: number;
  let server: DevServer;
  let receiver: RunningReceiver;

  const deliver = ({ body, headers }: { body: string; headers: Record<string, string> }) =>
    fetch(`${receiver.url}/webhooks/gocardless`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const startServer = () => startDevServer({ cliPath: inject('temporalCliPath'), dbFile, port });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'billflow-outage-'));
    dbFile = path.join(dataDir, 'temporal.db');
    port = await getFreePort();
    server = await startServer();
    const config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      GOCARDLESS_WEBHOOK_SECRET: secret,
      PORT: '0',
      HOST: '127.0.0.1',
      SIGNAL_DEADLINE_MS: '2000',
      RETRY_AFTER_SECONDS: '7',
    });
    receiver = await startReceiver(config, pino({ level: 'silent' }));
  });

  afterAll(async () => {
    await receiver?.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After, and the provider’s retry lands once Temporal is back', async () => {
    expect((await deliver(signedCancellation('MDBEFORE'))).status).toBe(200);
    expect((await fetch(`${receiver.url}/readyz`)).status).toBe(200);

    await server.stop();
    const retried = signedCancellation('MDDURING');
    const startedAt = Date.now();
    const refused = await deliver(retried);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(Date.now() - startedAt).toBeLessThan(2000 + 1500);
    expect((await fetch(`${receiver.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${receiver.url}/healthz`)).status).toBe(200);

    server = await startServer();
    const accepted = await deliver(retried);
    expect(accepted.status).toBe(200);

    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      // Both workflows are there after the restart: the dev server's data file kept the first one.
      for (const mandateId of ['MDBEFORE', 'MDDURING']) {
        const description = await client.workflow.getHandle(`gocardless:mandate:${mandateId}`).describe();
        expect(description.status.name).toBe('RUNNING');
      }
    } finally {
      await client.connection.close();
    }
  });
});
