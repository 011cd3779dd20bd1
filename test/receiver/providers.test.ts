import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createReceiverApp } from '../../src/receiver/app';
import { temporalCallsSettled } from '../../src/temporal/deliver';
import { signWebhookBody } from '../../src/testing/sign';
import { basic, fixture } from '../providers/helpers';
import { getFreePort } from '../../src/free-port';

const stripeSecret = 'whsec_receiver_test';
const recurlySecret = 'recurly-receiver-secret';
const recurlyBasic = { user: 'recurly', password: 'recurly-pass' };
const billforwardBasic = { user: 'bf', password: 'bf-pass' };
const bodyLimitBytes = 16 * 1024;
const secrets = [stripeSecret, recurlySecret, recurlyBasic.password, billforwardBasic.password];
const sdk = new Stripe('sk_test_unused');

interface Receiver {
  url: string;
  logs: string[];
  close(): Promise<void>;
}

/** The real app on a real port, Temporal unreachable, every provider configured. */
async function startReceiver(environment: Record<string, string> = {}): Promise<Receiver> {
  const config = loadConfig({
    TEMPORAL_ADDRESS: `127.0.0.1:${await getFreePort()}`,
    SIGNAL_DEADLINE_MS: '500',
    WEBHOOK_BODY_LIMIT: String(bodyLimitBytes),
    STRIPE_WEBHOOK_SECRET: `whsec_old,${stripeSecret}`,
    RECURLY_WEBHOOK_SECRET: recurlySecret,
    RECURLY_WEBHOOK_BASIC_AUTH: `${recurlyBasic.user}:${recurlyBasic.password}`,
    // The tests post from loopback; Recurly's XML endpoint checks the address first.
    RECURLY_ALLOWED_IPS: '127.0.0.1,::1',
    BILLFORWARD_WEBHOOK_BASIC_AUTH: `${billforwardBasic.user}:${billforwardBasic.password}`,
    GOCARDLESS_WEBHOOK_SECRET: 'gocardless-receiver-secret',
    ...environment,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const connection = Connection.lazy({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const server = createReceiverApp({ config, client, logger: createLogger({ level: 'debug', pretty: false }, sink) }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logs,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await temporalCallsSettled(client);
      await connection.close();
    },
  };
}

function post(receiver: Receiver, provider: string, body: string | Buffer, headers: Record<string, string> = {}, query = ''): Promise<Response> {
  return fetch(`${receiver.url}/webhooks/${provider}${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

const stripeSigned = (body: string | Buffer, now?: Date) => signWebhookBody('stripe', body, stripeSecret, { now });
const recurlySigned = (body: string | Buffer) => signWebhookBody('recurly', body, recurlySecret);
/** A delivery that reaches Temporal answers 503 here (unreachable); one no workflow takes answers 204. */
const accepted = [204, 503];

describe('provider routes of the real app, Temporal unreachable', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('Stripe: the SDK\'s signature is accepted; a forged, stale or missing one is 401', async () => {
    const body = fixture('stripe', 'events/customer.subscription.updated.json').toString('utf8');
    expect(accepted).toContain((await post(receiver, 'stripe', body, { 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret }) })).status);
    expect((await post(receiver, 'stripe', body, stripeSigned(`${body} `))).status).toBe(401);
    expect((await post(receiver, 'stripe', body, stripeSigned(body, new Date(Date.now() - 301_000)))).status).toBe(401);
    const missing = await post(receiver, 'stripe', body);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: 'missing Stripe-Signature header' });
  });

  it('Stripe: signed bytes that are not JSON, or sent as another content type, are 400', async () => {
    expect((await post(receiver, 'stripe', '{"id":', stripeSigned('{"id":'))).status).toBe(400);
    const body = fixture('stripe', 'events/invoice.paid.json');
    expect((await post(receiver, 'stripe', body, { ...stripeSigned(body), 'content-type': 'text/plain' })).status).toBe(400);
  });

  it('Recurly JSON: signed is accepted, unsigned 401; Recurly XML: Basic from an allowed address, 401 with the challenge otherwise', async () => {
    const json = fixture('recurly', 'json/subscription.renewed.json');
    expect(accepted).toContain((await post(receiver, 'recurly', json, { ...recurlySigned(json), 'recurly-notification-id': 'n-1' })).status);
    expect((await post(receiver, 'recurly', json)).status).toBe(401);

    const xml = fixture('recurly', 'xml/renewed_subscription_notification.xml');
    const xmlHeaders = { 'content-type': 'application/xml' };
    expect(accepted).toContain((await post(receiver, 'recurly', xml, { ...xmlHeaders, authorization: basic(recurlyBasic.user, recurlyBasic.password) })).status);
    const refused = await post(receiver, 'recurly', xml, { ...xmlHeaders, authorization: basic(recurlyBasic.user, 'wrong') });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="billflow"');
    expect((await post(receiver, 'recurly', '<broken', { ...xmlHeaders, authorization: basic(recurlyBasic.user, recurlyBasic.password) })).status).toBe(400);
  });

  it('BillForward: Basic missing, wrong user, wrong password, malformed → 401 with the challenge; right → accepted', async () => {
    const body = fixture('billforward', 'bf-java/subscription/cancelled.json');
    for (const authorization of [undefined, basic('x', billforwardBasic.password), basic(billforwardBasic.user, 'x'), 'Basic %%%']) {
      const response = await post(receiver, 'billforward', body, authorization === undefined ? {} : { authorization });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="billflow"');
    }
    expect(accepted).toContain((await post(receiver, 'billforward', body, { authorization: basic(billforwardBasic.user, billforwardBasic.password) })).status);
  });

  it('CCBill: loopback is not CCBill (403), and a spoofed X-Forwarded-For does not change that without a trusted proxy', async () => {
    const body = fixture('ccbill', 'json/openrails/RenewalFailure.json');
    const response = await post(receiver, 'ccbill', body, {}, '?eventType=RenewalFailure');
    expect(response.status).toBe(403);
    expect((await response.json()) as object).toEqual({ error: 'source IP 127.0.0.1 is not in the CCBill allow-list' });
    expect((await post(receiver, 'ccbill', body, { 'x-forwarded-for': '64.38.212.5' }, '?eventType=RenewalFailure')).status).toBe(403);
  });

  it('answers 413 to a body over the limit on every provider route', async () => {
    for (const provider of ['stripe', 'recurly', 'ccbill', 'billforward']) {
      expect((await post(receiver, provider, 'x'.repeat(bodyLimitBytes + 1))).status).toBe(413);
    }
  });

  it('throws arbitrary bodies, headers and content types at every provider: never a 5xx, never a signal, never a crash', async () => {
    const headerValue = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('t=1,v1=00', `${Date.now()},abc`, 'Basic Og==', 'Basic cmVjdXJseTp4', '64.38.212.5', '35.233.168.62'));
    const asciiHeader = headerValue.map((value) => value.replace(/[^\x20-\x7e]/g, ''));
    const contentType = fc.oneof(
      fc.constantFrom('application/json', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=utf-8', ''),
      asciiHeader,
    );
    const headerNames = fc.subarray(['stripe-signature', 'recurly-signature', 'recurly-notification-id', 'authorization', 'x-forwarded-for', 'webhook-signature']);
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('stripe', 'recurly', 'ccbill', 'billforward', 'gocardless'),
        fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.json().map((text) => new TextEncoder().encode(text))),
        contentType,
        headerNames.chain((names) => fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), asciiHeader)))),
        fc.constantFrom('', '?eventType=RenewalFailure', '?eventType=Cancellation&eventType=Expiration', '?eventType=%00'),
        async (provider, bytes, type, headers, query) => {
          const response = await post(receiver, provider, Buffer.from(bytes), { 'content-type': type, ...Object.fromEntries(headers) }, query);
          seen.add(response.status);
          // No verification can pass here, so no signal may be attempted: a 503 would mean one was.
          expect([400, 401, 403, 413, 498]).toContain(response.status);
          await response.arrayBuffer();
        },
      ),
      { numRuns: 250 },
    );
    expect(seen.size).toBeGreaterThan(1);
    expect((await fetch(`${receiver.url}/healthz`)).status).toBe(200);
  });

  it('logs no secret, password or full signature', () => {
    for (const line of receiver.logs) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});

describe('TRUST_PROXY', () => {
  const body = fixture('ccbill', 'json/openrails/RenewalFailure.json');
  let behindOneProxy: Receiver;
  let behindTwoProxies: Receiver;
  beforeAll(async () => {
    behindOneProxy = await startReceiver({ TRUST_PROXY: 'true' });
    behindTwoProxies = await startReceiver({ TRUST_PROXY: '2' });
  });
  afterAll(async () => {
    await behindOneProxy.close();
    await behindTwoProxies.close();
  });

  it('behind one trusted proxy, takes the address that proxy appended', async () => {
    expect(accepted).toContain((await post(behindOneProxy, 'ccbill', body, { 'x-forwarded-for': '64.38.212.5' }, '?eventType=RenewalFailure')).status);
  });

  it('ignores addresses a client put in front of the proxy\'s own entry (spoofing)', async () => {
    const spoofed = await post(behindOneProxy, 'ccbill', body, { 'x-forwarded-for': '64.38.212.5, 203.0.113.9' }, '?eventType=RenewalFailure');
    expect(spoofed.status).toBe(403);
    expect(await spoofed.json()).toEqual({ error: 'source IP 203.0.113.9 is not in the CCBill allow-list' });
  });

  it('behind two proxies, takes the second entry from the right', async () => {
    expect(accepted).toContain((await post(behindTwoProxies, 'ccbill', body, { 'x-forwarded-for': '198.51.100.1, 64.38.240.9, 10.0.0.2' }, '?eventType=RenewalFailure')).status);
    expect((await post(behindTwoProxies, 'ccbill', body, { 'x-forwarded-for': '64.38.240.9, 198.51.100.1, 10.0.0.2' }, '?eventType=RenewalFailure')).status).toBe(403);
  });

  it('refuses a garbage forwarded address', async () => {
    expect((await post(behindOneProxy, 'ccbill', body, { 'x-forwarded-for': 'unknown' }, '?eventType=RenewalFailure')).status).toBe(403);
  });
});

describe('BILLFLOW_INSECURE_ALLOW_UNVERIFIED', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver({ BILLFLOW_INSECURE_ALLOW_UNVERIFIED: 'billforward', BILLFORWARD_WEBHOOK_BASIC_AUTH: '' });
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('opens only the named provider, warning at start and on every such request', async () => {
    const response = await post(receiver, 'billforward', fixture('billforward', 'bf-java/webhook/Webhook.Created.json'));
    // BillForward marks anything but a 200 as Sending and sends it again (seed 000): no workflow takes
    // this notification, and it is still a 200.
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 0 });
    const lines = receiver.logs.map((line) => JSON.parse(line) as { level: number; msg: string; unverified?: boolean; providers?: string[] });
    expect(lines.find((line) => line.msg.includes('WITHOUT verification'))).toMatchObject({ level: 40, providers: ['billforward'] });
    expect(lines.filter((line) => line.unverified === true).length).toBeGreaterThan(0);
    expect((await post(receiver, 'stripe', '{}')).status).toBe(401);
  });
});

describe('config of the provider variables', () => {
  const configError = (environment: Record<string, string>): ConfigError => {
    try {
      loadConfig(environment);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('loadConfig accepted it');
  };

  it('has fail-closed defaults: no secrets, published address lists, 300 s tolerances, no proxy, nothing opened', () => {
    const config = loadConfig({});
    expect(config.stripe).toMatchObject({ webhookSecrets: [], signatureToleranceSeconds: 300 });
    expect(config.recurly).toMatchObject({ webhookSecrets: [], basicAuth: [], signatureToleranceSeconds: 300 });
    expect(config.recurly.allowedIps).toHaveLength(20);
    expect(config.ccbill.allowedIps).toEqual(['64.38.212.0/24', '64.38.215.0/24', '64.38.240.0/24', '64.38.241.0/24']);
    expect(config.billforward.basicAuth).toEqual([]);
    expect(config.receiver.trustProxyHops).toBe(0);
    expect(config.insecureAllowUnverified).toEqual([]);
  });

  it('reads rotation lists, credentials with a colon in the password, proxies and opened providers', () => {
    const config = loadConfig({
      STRIPE_WEBHOOK_SECRET: 'whsec_a, whsec_b',
      RECURLY_WEBHOOK_BASIC_AUTH: 'a:b:c,d:e',
      CCBILL_ALLOWED_IPS: '10.0.0.0/8, 2001:db8::/32',
      TRUST_PROXY: '3',
      BILLFLOW_INSECURE_ALLOW_UNVERIFIED: 'CCBill,ccbill',
    });
    expect(config.stripe.webhookSecrets).toEqual(['whsec_a', 'whsec_b']);
    expect(config.recurly.basicAuth).toEqual([{ user: 'a', password: 'b:c' }, { user: 'd', password: 'e' }]);
    expect(config.ccbill.allowedIps).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(config.receiver.trustProxyHops).toBe(3);
    expect(config.insecureAllowUnverified).toEqual(['ccbill']);
    expect(loadConfig({ TRUST_PROXY: 'true' }).receiver.trustProxyHops).toBe(1);
  });

  it.each([
    [{ RECURLY_WEBHOOK_BASIC_AUTH: 'no-colon-secretvalue' }, 'RECURLY_WEBHOOK_BASIC_AUTH', 'secretvalue'],
    [{ BILLFORWARD_WEBHOOK_BASIC_AUTH: 'user:' }, 'BILLFORWARD_WEBHOOK_BASIC_AUTH', undefined],
    [{ CCBILL_ALLOWED_IPS: '64.38.212.0/33' }, 'CCBILL_ALLOWED_IPS', undefined],
    [{ RECURLY_ALLOWED_IPS: '127.1' }, 'RECURLY_ALLOWED_IPS', undefined],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY', undefined],
    [{ BILLFLOW_INSECURE_ALLOW_UNVERIFIED: 'paypal' }, 'BILLFLOW_INSECURE_ALLOW_UNVERIFIED', undefined],
    [{ STRIPE_SIGNATURE_TOLERANCE_SECONDS: '0' }, 'STRIPE_SIGNATURE_TOLERANCE_SECONDS', undefined],
  ])('refuses %j, naming the variable and never its secret', (environment, variable, secret) => {
    const error = configError(environment);
    expect(error.message).toContain(variable);
    if (secret) expect(error.message).not.toContain(secret);
  });
});
