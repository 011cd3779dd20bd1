import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config';
import type { BillingEvent } from '../../src/core/events';
import { createLogger } from '../../src/logger';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import { signWebhookBody } from '../../src/testing/sign';
import { basic, fixture } from '../providers/helpers';
import { recurlyUuid } from '../support/recurly';

const stripeSecret = 'whsec_integration';
const recurlySecret = 'recurly-integration';
const billforwardAuth = { user: 'bf', password: 'bf-integration' };
const unique = (): string => randomUUID().replace(/-/g, '').slice(0, 16);

interface LogLine {
  msg: string;
  requestId?: string;
  workflowIds?: string[];
}

/**
 * One delivery per provider through the real receiver to the real dev server: each is accepted
 * (200), reaches its subscription's entity workflow, and the event read back from that workflow's
 * history is the normalised event expected.
 */
describe('one delivery per provider through a running Temporal', () => {
  let receiver: RunningReceiver;
  let client: Client;
  const logs: string[] = [];
  const started = new Set<string>();

  beforeAll(async () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      // No worker polls this queue: workflows are started and signalled, never run.
      TEMPORAL_TASK_QUEUE: `providers-${randomUUID()}`,
      STRIPE_WEBHOOK_SECRET: stripeSecret,
      RECURLY_WEBHOOK_SECRET: recurlySecret,
      BILLFORWARD_WEBHOOK_BASIC_AUTH: `${billforwardAuth.user}:${billforwardAuth.password}`,
      // The test posts from loopback, as a proxy in front of the receiver would.
      TRUST_PROXY: '1',
      PORT: '0',
      HOST: '127.0.0.1',
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    receiver = await startReceiver(config, createLogger({ level: 'info', pretty: false }, sink));
    client = new Client({ connection: await Connection.connect({ address: config.temporal.address }), namespace: config.temporal.namespace });
  });

  afterAll(async () => {
    for (const id of started) await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    await receiver?.close();
    await client?.connection.close();
  });

  /** Posts, expects 2xx, and returns the event billflow made of the delivery. */
  async function deliver(provider: string, body: string, headers: Record<string, string>, reaches: string, query = ''): Promise<Partial<BillingEvent>> {
    const response = await fetch(`${receiver.url}/webhooks/${provider}${query}`, { method: 'POST', body, headers });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id');
    const lines = logs.map((line) => JSON.parse(line) as LogLine).filter((line) => line.requestId === requestId);
    const [workflowId] = lines.find((line) => line.workflowIds)?.workflowIds ?? [];
    expect(workflowId).toBe(reaches);
    started.add(workflowId ?? '');
    const history = await client.workflow.getHandle(workflowId ?? '').fetchHistory();
    const signalled = (history.events ?? []).flatMap((event) => {
      const data = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
      return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as BillingEvent] : [];
    });
    expect(signalled).toHaveLength(1);
    return signalled[0] ?? {};
  }

  it('Stripe: a subscription renewal signed by the official SDK', async () => {
    const subscription = `sub_${unique()}`;
    const event = JSON.parse(fixture('stripe', 'events/customer.subscription.updated.json').toString('utf8')) as {
      id: string;
      data: { object: Record<string, unknown>; previous_attributes: Record<string, unknown> };
    };
    event.id = `evt_${unique()}`;
    event.data.object.id = subscription;
    event.data.previous_attributes = { current_period_start: 1645901705 };
    const body = JSON.stringify(event);
    const signature = new Stripe('sk_test_unused').webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });
    const received = await deliver('stripe', body, { 'content-type': 'application/json', 'stripe-signature': signature }, `stripe:subscription:${subscription}`);
    expect(received).toMatchObject({ id: event.id, type: 'customer.subscription.updated', kind: 'subscription.renewed' });
    expect(received.references).toMatchObject({ subscription, customer: 'cus_00000000000000' });
  });

  it('Recurly: a signed JSON subscription renewal, deduplicated by its notification id', async () => {
    const uuid = recurlyUuid();
    const body = fixture('recurly', 'json/subscription.renewed.json').toString('utf8').replace('612bcf671a227b272b753a487fb6576a', uuid);
    const notificationId = `n-${unique()}`;
    const headers = { 'content-type': 'application/json', ...signWebhookBody('recurly', body, recurlySecret), 'recurly-notification-id': notificationId };
    const received = await deliver('recurly', body, headers, `recurly:subscription:${uuid}`);
    expect(received).toMatchObject({ id: notificationId, type: 'subscription.renewed', kind: 'subscription.renewed' });
    expect(received.references).toEqual({ subscription: uuid });
  });

  it('CCBill: a renewal failure from CCBill\'s address (through a trusted proxy), with its derived id', async () => {
    const subscriptionId = `01${Date.now()}`;
    const body = fixture('ccbill', 'json/openrails/RenewalFailure.json').toString('utf8').replaceAll('0125217202000000017', subscriptionId);
    const received = await deliver('ccbill', body, { 'content-type': 'application/json', 'x-forwarded-for': '64.38.212.17' }, `ccbill:subscription:${subscriptionId}`, '?eventType=RenewalFailure&eventGroupType=Subscription');
    expect(received).toMatchObject({ type: 'RenewalFailure', kind: 'payment.failed' });
    expect(received.id).toMatch(/^RenewalFailure:[0-9a-f]{32}$/);
    expect(received.references).toEqual({ subscription: subscriptionId, payment: subscriptionId });
    expect(received.facts).toEqual({ providerWillRetry: true, nextRetryAt: '2025-09-07' });
    expect(received.details).toMatchObject({ nextRetryDate: '2025-09-07', failureReason: 'Card Expired' });
  });

  it('BillForward: a cancelled subscription behind HTTP Basic', async () => {
    const subscription = `SUB-${unique()}`;
    const notification = `NOT-${unique()}`;
    const body = fixture('billforward', 'bf-java/subscription/cancelled.json')
      .toString('utf8')
      .replaceAll('0BA31F74-05F7-44C0-BD7D-ACDF46FFF695', subscription)
      .replace('NOT-25AF1E00-2BF5-4C01-BD4D-5CF1AFD5', notification);
    const received = await deliver('billforward', body, { 'content-type': 'application/json', authorization: basic(billforwardAuth.user, billforwardAuth.password) }, `billforward:subscription:${subscription}`);
    expect(received).toMatchObject({ id: notification, type: 'Subscription.Cancelled', kind: 'subscription.cancelled' });
    expect(received.references).toMatchObject({ subscription });
  });

});
