import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { keepAliveAgent } from '../../bench/lib/load';
import { sendLikeProvider } from '../../bench/lib/sender';
import { newEntity, prepareWebhook } from '../../bench/lib/webhooks';

/** A receiver stand-in that answers the first attempt of each delivery 503 and keeps the headers of every attempt. */
async function refusingOnce() {
  const attempts: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    attempts.push(request.headers);
    request.resume();
    request.on('end', () => {
      response.writeHead(attempts.length === 1 ? 503 : 200, { 'retry-after': '0' });
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { attempts, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const stripeTimestamp = (headers: IncomingHttpHeaders) => Number(/t=(\d+)/.exec(String(headers['stripe-signature']))?.[1]);

describe("the benchmarks' provider-like sender", () => {
  const closing: (() => void)[] = [];
  afterEach(() => closing.splice(0).forEach((close) => close()));

  it('signs each attempt when it is sent, as Stripe does: a delivery prepared or retried past the 5-minute tolerance is not refused for its age', async () => {
    const receiver = await refusingOnce();
    const agent = keepAliveAgent(1);
    closing.push(() => receiver.server.close(), () => agent.destroy());
    const tenMinutesAgo = new Date(Date.now() - 600_000);
    const webhook = prepareWebhook('stripe', 'invoice.paid', newEntity('stripe', ['invoice.paid']), tenMinutesAgo);

    const { stats, delivered } = await sendLikeProvider([webhook], { baseUrl: receiver.url, agent, concurrency: 1, initialBackoffMs: 10, maxBackoffMs: 10, maxAttempts: 3, timeLimitMs: 10_000, requestTimeoutMs: 5000 });

    expect(delivered).toEqual([true]);
    expect(stats).toMatchObject({ attempts: 2, status503: 1, retried: 1, gaveUp: 0 });
    const recent = Math.floor(Date.now() / 1000) - 60;
    expect(stripeTimestamp(webhook.headers as IncomingHttpHeaders)).toBe(Math.floor(tenMinutesAgo.getTime() / 1000));
    expect(receiver.attempts.map(stripeTimestamp).every((signedAt) => signedAt >= recent)).toBe(true);
  });
});
