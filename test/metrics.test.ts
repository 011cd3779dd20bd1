import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config';
import { getFreePort } from '../src/free-port';
import { startReceiver, type RunningReceiver } from '../src/run/receiver';
import { signWebhookBody } from '../src/testing/sign';

const secret = 'metrics-test-secret';
const silent = pino({ level: 'silent' });
const signed = (body: string, key = secret) => signWebhookBody('gocardless', body, key);

function batch(...types: string[]): string {
  return JSON.stringify({
    events: types.map((type) => {
      const [resource_type, action] = type.split('.');
      const id = `${resource_type?.slice(0, 2).toUpperCase()}${randomUUID().slice(0, 10).toUpperCase()}`;
      return { id: `EV${randomUUID().slice(0, 12)}`, created_at: new Date().toISOString(), resource_type, action, links: { [resource_type?.replace(/s$/, '') ?? '']: id }, details: {} };
    }),
  });
}

/** Samples of the Prometheus text format: `name{a="x",b="y"} value`, keyed by name and sorted labels. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, name, value]) => `${name}=${value}`).sort();
    found.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return found;
}

const key = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels).map(([label, value]) => `${label}=${value}`).sort().join(',')}}`;

describe('GET /metrics on the receiver', () => {
  let receiver: RunningReceiver;
  let unreachable: RunningReceiver;

  beforeAll(async () => {
    const common = { GOCARDLESS_WEBHOOK_SECRET: secret, PORT: '0', HOST: '127.0.0.1', TEMPORAL_TASK_QUEUE: `metrics-${randomUUID()}` };
    receiver = await startReceiver(loadConfig({ ...common, TEMPORAL_ADDRESS: inject('temporalAddress') }), silent);
    // Nothing listens there: every delivery ends in 503 after the deadline.
    unreachable = await startReceiver(loadConfig({ ...common, TEMPORAL_ADDRESS: `127.0.0.1:${await getFreePort()}`, SIGNAL_DEADLINE_MS: '300' }), silent);
  });

  afterAll(async () => {
    await receiver?.close();
    await unreachable?.close();
  });

  const post = (target: RunningReceiver, body: string, headers: Record<string, string>, provider = 'gocardless') =>
    fetch(`${target.url}/webhooks/${provider}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('counts real deliveries by provider and status, failures by reason, events by kind, and signal latency', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const body = batch('mandates.cancelled');
      statuses.push((await post(receiver, body, signed(body))).status);
    }
    // Refunds concern no workflow (billflow ignores them); `creditors.updated` is a kind it does not know.
    const mixed = batch('mandates.reinstated', 'refunds.created', 'creditors.updated');
    statuses.push((await post(receiver, mixed, signed(mixed))).status);
    const ignoredOnly = batch('refunds.created');
    statuses.push((await post(receiver, ignoredOnly, signed(ignoredOnly))).status);
    for (let i = 0; i < 2; i += 1) {
      const forged = batch('mandates.cancelled');
      statuses.push((await post(receiver, forged, signed(forged, 'not-the-secret'))).status);
    }
    statuses.push((await post(receiver, batch('mandates.cancelled'), {})).status);
    statuses.push((await post(receiver, '{"events": [', signed('{"events": ['))).status);
    statuses.push((await post(receiver, batch('mandates.cancelled'), {}, 'paypal')).status);
    const late = batch('mandates.cancelled');
    statuses.push((await post(unreachable, late, signed(late))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 204, 498, 498, 498, 400, 404, 503]);

    const response = await fetch(`${receiver.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = samples(await response.text());
    const expected: [string, Record<string, string>, number][] = [
      ['billflow_webhooks_received_total', { provider: 'gocardless', status: '200' }, 4],
      ['billflow_webhooks_received_total', { provider: 'gocardless', status: '204' }, 1],
      ['billflow_webhooks_received_total', { provider: 'gocardless', status: '498' }, 3],
      ['billflow_webhooks_received_total', { provider: 'gocardless', status: '400' }, 1],
      ['billflow_webhooks_received_total', { provider: 'unknown', status: '404' }, 1],
      ['billflow_webhook_verification_failures_total', { provider: 'gocardless', reason: 'Webhook-Signature does not match' }, 2],
      ['billflow_webhook_verification_failures_total', { provider: 'gocardless', reason: 'missing Webhook-Signature header' }, 1],
      ['billflow_webhook_events_total', { provider: 'gocardless', kind: 'mandate.cancelled', outcome: 'routed' }, 3],
      ['billflow_webhook_events_total', { provider: 'gocardless', kind: 'mandate.reinstated', outcome: 'routed' }, 1],
      ['billflow_webhook_events_total', { provider: 'gocardless', kind: 'refund.created', outcome: 'ignored' }, 2],
      ['billflow_webhook_events_total', { provider: 'gocardless', kind: 'unknown', outcome: 'ignored' }, 1],
      ['billflow_signal_duration_seconds_count', { provider: 'gocardless', outcome: 'durable' }, 4],
      ['billflow_signal_duration_seconds_bucket', { provider: 'gocardless', outcome: 'durable', le: '+Inf' }, 4],
    ];
    for (const [name, labels, value] of expected) expect({ sample: key(name, labels), value: metrics.get(key(name, labels)) }).toEqual({ sample: key(name, labels), value });
    // Nothing else was counted: the scrape itself and other routes are not deliveries.
    const received = [...metrics].filter(([sample]) => sample.startsWith('billflow_webhooks_received_total{'));
    expect(received.reduce((sum, [, value]) => sum + value, 0)).toBe(10);
    expect(metrics.get(key('billflow_signal_duration_seconds_sum', { provider: 'gocardless', outcome: 'durable' }))).toBeGreaterThan(0);
    expect(metrics.has('billflow_receiver_process_cpu_user_seconds_total{}')).toBe(true);

    const outage = samples(await (await fetch(`${unreachable.url}/metrics`)).text());
    expect(outage.get(key('billflow_webhooks_received_total', { provider: 'gocardless', status: '503' }))).toBe(1);
    expect(outage.get(key('billflow_signal_duration_seconds_count', { provider: 'gocardless', outcome: 'unavailable' }))).toBe(1);
    expect(outage.get(key('billflow_signal_duration_seconds_bucket', { provider: 'gocardless', outcome: 'unavailable', le: '0.25' }))).toBe(0);
  });

  it('asks for BILLFLOW_METRICS_TOKEN as a Bearer token when it is set', async () => {
    const token = `metrics-${randomUUID()}`;
    const guarded = await startReceiver(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', TEMPORAL_ADDRESS: inject('temporalAddress'), BILLFLOW_METRICS_TOKEN: token }),
      silent,
    );
    try {
      const scrape = (authorization?: string) => fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
      const refused = await scrape();
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="billflow"');
      expect(await refused.text()).not.toContain('billflow_webhooks_received_total');
      expect((await scrape(`Bearer ${token}x`)).status).toBe(401);
      expect((await scrape(`Basic ${Buffer.from(`x:${token}`).toString('base64')}`)).status).toBe(401);
      const allowed = await scrape(`Bearer ${token}`);
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('billflow_receiver_process_cpu_user_seconds_total');
    } finally {
      await guarded.close();
    }
  });
});
