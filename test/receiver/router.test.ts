import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import Koa from 'koa';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ReceiverMetrics } from '../../src/metrics';
import { providerNames } from '../../src/providers/registry';
import { createReceiverRouter } from '../../src/receiver/app';
import { temporalCallsSettled } from '../../src/temporal/deliver';
import { signWebhookBody } from '../../src/testing/sign';
import type { WorkflowRouteEntry } from '../../src/workflow-routes';

const secret = 'router-test-secret';

/*
 * billflow's receiver mounted in the user's own Koa app, under a prefix, with the user's routes:
 * the app keeps its own routes and 404s, billflow answers its own paths as the standalone receiver does.
 */
describe('the receiver router mounted in your own Koa app', () => {
  let server: Server;
  let url: string;
  let client: Client;
  const metrics = new ReceiverMetrics(providerNames);
  const taskQueue = `router-${randomUUID()}`;
  const audit: WorkflowRouteEntry = { kinds: ['mandate.cancelled'], workflowType: 'auditWorkflow', workflowId: (event) => `audit:${event.id}` };

  beforeAll(async () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: taskQueue, GOCARDLESS_WEBHOOK_SECRET: secret });
    client = new Client({ connection: Connection.lazy({ address: config.temporal.address }) });
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path === '/hello') ctx.body = 'the user app';
      else await next();
    });
    app.use(createReceiverRouter({ config, client, logger: pino({ level: 'silent' }), routes: [audit], metrics, prefix: '/billing' }).routes());
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await temporalCallsSettled(client);
    await client?.connection.close();
  });

  it('signals billflow\'s workflow and the routes given, under the prefix', async () => {
    const id = `EV${randomUUID().slice(0, 8)}`;
    const body = JSON.stringify({
      events: [{ id, created_at: new Date().toISOString(), resource_type: 'mandates', action: 'cancelled', links: { mandate: `MD${id}` }, details: { origin: 'api' }, metadata: {} }],
      meta: { webhook_id: 'WB1' },
    });
    const headers = { 'content-type': 'application/json', ...signWebhookBody('gocardless', body, secret) };
    const response = await fetch(`${url}/billing/webhooks/gocardless`, { method: 'POST', body, headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 1 });
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect((await client.workflow.getHandle(`gocardless:mandate:MD${id}`).describe()).type).toBe('mandateWorkflow');
    expect((await client.workflow.getHandle(`audit:${id}`).describe()).type).toBe('auditWorkflow');
    expect(await metrics.registry.getSingleMetricAsString('billflow_webhooks_received_total')).toContain('billflow_webhooks_received_total{provider="gocardless",status="200"} 1');
  });

  it('answers failures with billflow\'s reasons and leaves other paths to the app', async () => {
    const refused = await fetch(`${url}/billing/webhooks/gocardless`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'webhook-signature': 'nope' } });
    expect(refused.status).toBe(498);
    expect(await refused.json()).toMatchObject({ error: expect.any(String) });
    expect((await fetch(`${url}/billing/webhooks/nope`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect(await (await fetch(`${url}/billing/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${url}/hello`)).text()).toBe('the user app');
    // Not billflow's: Koa's own 404, not billflow's JSON one.
    const elsewhere = await fetch(`${url}/webhooks/gocardless`, { method: 'POST', body: '{}' });
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.text()).toBe('Not Found');
  });
});
