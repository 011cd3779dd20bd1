import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';

const receiveTimeoutMs = 1000;

/** A raw connection that sends `text` and then nothing more; resolves with what the server answered and how long it held on. */
function trickle(receiver: RunningReceiver, text: string): Promise<{ answer: string; heldMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answer = '';
    const socket: Socket = connect(receiver.port, '127.0.0.1', () => socket.write(text));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, heldMs: performance.now() - started }));
    // The test's own bound: far above the receiver's, far below Node's default 300 s.
    setTimeout(() => socket.destroy(new Error('the receiver never cut the connection')), 15_000).unref();
  });
}

describe('the receiver process against slow clients', () => {
  let receiver: RunningReceiver;
  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', TEMPORAL_ADDRESS: '127.0.0.1:1', WEBHOOK_RECEIVE_TIMEOUT_MS: String(receiveTimeoutMs) });
    receiver = await startReceiver(config, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('answers 408 and cuts a client whose headers never finish, within the bound', async () => {
    const { answer, heldMs } = await trickle(receiver, 'POST /webhooks/gocardless HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(heldMs).toBeGreaterThanOrEqual(receiveTimeoutMs - 50);
    expect(heldMs).toBeLessThan(receiveTimeoutMs * 3);
  });

  it('answers 408 and cuts a client whose body stops short of its Content-Length', async () => {
    const head = 'POST /webhooks/gocardless HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    const { answer, heldMs } = await trickle(receiver, `${head}{"events":[`);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(heldMs).toBeLessThan(receiveTimeoutMs * 3);
  });

  it('serves other requests while slow clients hold their sockets', async () => {
    const slow = Array.from({ length: 20 }, () => trickle(receiver, 'POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\n'));
    const started = performance.now();
    const response = await fetch(`${receiver.url}/healthz`);
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(receiveTimeoutMs / 2);
    for (const { answer } of await Promise.all(slow)) expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});
