import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HttpRefusal } from '../../src/core/errors';
import { MalformedPayloadError, VerificationError } from '../../src/providers/types';
import { handleErrors, ReceiverError, type ReceiverState } from '../../src/receiver/errors';

/** The receiver's error middleware in front of a handler that throws `error`; the answer to one GET. */
async function answerTo(error: unknown): Promise<Response> {
  const app = new Koa<ReceiverState>();
  app.use(handleErrors(pino({ level: 'silent' }), { retryAfterSeconds: 7 }));
  app.use(() => {
    throw error;
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe('the receiver\'s error middleware', () => {
  it('answers any HttpRefusal with its status, reason and headers', async () => {
    const response = await answerTo(new HttpRefusal(429, 'slow down', { 'Retry-After': '3' }));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await response.json()).toEqual({ error: 'slow down' });
  });

  it.each([
    ['VerificationError', new VerificationError(401, 'missing Stripe-Signature header', { 'WWW-Authenticate': 'Basic realm="billflow"' }), 401],
    ['MalformedPayloadError', new MalformedPayloadError('body is not valid JSON'), 400],
    ['ReceiverError', new ReceiverError(413, 'body is over the limit'), 413],
  ])('answers a %s as the HttpRefusal it is', async (name, error, status) => {
    expect(error).toBeInstanceOf(HttpRefusal);
    expect(error.name).toBe(name);
    const response = await answerTo(error);
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error: error.reason });
    for (const [header, value] of Object.entries(error.headers)) expect(response.headers.get(header)).toBe(value);
  });

  it('answers anything else 500 with a fixed reason', async () => {
    const response = await answerTo(new Error('secret detail'));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal error' });
  });
});
