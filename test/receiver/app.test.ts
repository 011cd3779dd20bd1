import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createReceiverApp } from '../../src/receiver/app';
import { temporalCallsSettled } from '../../src/temporal/deliver';
import { signWebhookBody } from '../../src/testing/sign';
import { billingProviderKey } from '../../workflows/definitions';
import { getFreePort } from '../../src/free-port';

const fixture = (name: string): Buffer => readFileSync(path.join(__dirname, '../fixtures/gocardless', name));

// The upstream vectors' secrets, configured as a rotation list, so the libraries' own signed
// bodies are accepted as they are.
const upstreamSecret = 'ED7D658C-D8EB-4941-948B-3973214F2D49';
const goLibrarySecret = 'testing';
const ownSecret = 'receiver-test-secret';
const signedBody = fixture('webhook_body.signed.json');
const signedBodySignature = '2693754819d3e32d7e8fcb13c729631f316c6de8dc1cf634d6527f1c07276e7e';
const goLibraryBody = fixture('pro-go-testdata-webhook_request.json');
const goLibrarySignature = '243f3efa57743c24eec7c5e10edc475b547830d256d5b583745afe319dd90936';

const bodyLimitBytes = 2048;
const signalDeadlineMs = 1000;
const retryAfterSeconds = 17;
/** What the answer may take beyond the deadline: scheduling, HTTP, logging. */
const marginMs = 750;

const signed = (body: Buffer | string, secret = ownSecret): Record<string, string> => signWebhookBody('gocardless', body, secret);

function batch(...events: { id: string; type: string; links?: Record<string, string> }[]): string {
  return JSON.stringify({
    events: events.map(({ id, type, links = {} }) => {
      const [resource_type, action] = type.split('.');
      return { id, created_at: '2024-05-01T10:00:00.000Z', resource_type, action, links, details: { origin: 'api' }, metadata: {} };
    }),
    meta: { webhook_id: 'WB000TEST' },
  });
}

interface Receiver {
  url: string;
  logs: string[];
  client: Client;
  close(): Promise<void>;
}

/** The real app on a real port, logging into memory, with the given Temporal address. */
async function startReceiver(temporalAddress: string, environment: Record<string, string> = {}): Promise<Receiver> {
  const config: Config = loadConfig({
    TEMPORAL_ADDRESS: temporalAddress,
    GOCARDLESS_WEBHOOK_SECRET: `${upstreamSecret}, ${goLibrarySecret},${ownSecret}`,
    WEBHOOK_BODY_LIMIT: String(bodyLimitBytes),
    SIGNAL_DEADLINE_MS: String(signalDeadlineMs),
    RETRY_AFTER_SECONDS: String(retryAfterSeconds),
    ...environment,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', pretty: false }, sink);
  const connection = Connection.lazy({ address: temporalAddress });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const server = createReceiverApp({ config, client, logger }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    client,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await temporalCallsSettled(client);
      await connection.close();
    },
  };
}

function post(receiver: Receiver, body: string | Buffer | ReadableStream<Uint8Array>, headers: Record<string, string> = {}, provider = 'gocardless'): Promise<Response> {
  return fetch(`${receiver.url}/webhooks/${provider}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

describe('receiver against an unreachable Temporal', () => {
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver(`127.0.0.1:${await getFreePort()}`);
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('answers 404 to an unknown provider', async () => {
    const response = await post(receiver, signedBody, { 'webhook-signature': signedBodySignature }, 'paypal');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'unknown provider' });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['POST', '/webhook/gocardless'],
    ['POST', '/webhooks/gocardless/extra'],
    ['POST', '/webhooks'],
    ['GET', '/'],
    ['PUT', '/nothing/here'],
  ])('answers 404 to %s %s, a path it does not serve, so a mistyped URL is never told a delivery succeeded', async (method, path) => {
    const response = await fetch(`${receiver.url}${path}`, { method, headers: { 'content-type': 'application/json', ...signed(signedBody) }, body: method === 'GET' ? undefined : signedBody });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not found' });
  });

  it('answers 413 to a body over the limit, announced by Content-Length', async () => {
    const body = batch({ id: 'EV1', type: 'mandates.cancelled', links: { mandate: 'MD1' } }).padEnd(bodyLimitBytes + 1, ' ');
    const response = await post(receiver, body, signed(body));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: `body larger than ${bodyLimitBytes} bytes` });
  });

  it('answers 413 to a chunked body that grows past the limit', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(512));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far more than the limit; the receiver must stop reading long before the end.
        if (sent >= 64 * 1024 * 1024) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const response = await post(receiver, body, signed(''));
    expect(response.status).toBe(413);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it('accepts a body of exactly the limit (then judges the signature)', async () => {
    const body = batch({ id: 'EV1', type: 'creditors.updated' }).padEnd(bodyLimitBytes, ' ');
    const response = await post(receiver, body, signed('something else'));
    expect(response.status).toBe(498);
  });

  it.each([
    ['a forged signature', signed(signedBody, 'attacker')['webhook-signature']],
    ['a malformed signature', 'not-hex'],
    ['no signature', undefined],
  ])('answers 498 to %s, echoing neither signature nor secret', async (_case, signature) => {
    const response = await post(receiver, signedBody, signature === undefined ? {} : { 'webhook-signature': signature });
    expect(response.status).toBe(498);
    const text = await response.text();
    expect(JSON.parse(text)).toHaveProperty('error');
    if (signature) expect(text).not.toContain(signature);
    expect(text).not.toContain(upstreamSecret);
  });

  it('answers 400 to signed bytes that are not JSON', async () => {
    const body = '{"events":[{"id":';
    const response = await post(receiver, body, signed(body));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'body is not valid JSON' });
  });

  it('answers 400 to a signed body sent with a non-JSON content type', async () => {
    const response = await post(receiver, signedBody, { 'webhook-signature': signedBodySignature, 'content-type': 'text/plain' });
    expect(response.status).toBe(400);
  });

  it('answers 204, signalling nothing, to a signed batch of events no workflow takes', async () => {
    const body = batch({ id: 'EV1', type: 'creditors.updated' }, { id: 'EV2', type: 'billing_requests.fulfilled' });
    const response = await post(receiver, body, signed(body));
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    const ignored = receiver.logs.map((line) => JSON.parse(line) as { msg: string; count?: number }).find((line) => line.msg.includes('ignored'));
    expect(ignored?.count).toBe(2);
  });

  it('routes the Go library\'s signed payment failure (it links only the payment) to its resolver workflow: 503 while Temporal is down', async () => {
    const response = await post(receiver, goLibraryBody, { 'webhook-signature': goLibrarySignature });
    expect(response.status).toBe(503);
  });

  it('answers 503 with Retry-After, within the deadline, to the libraries\' signed batch with a mandate event', async () => {
    const { result: response, ms } = await timed(() => post(receiver, signedBody, { 'webhook-signature': signedBodySignature }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe(String(retryAfterSeconds));
    expect(await response.json()).toEqual({ error: 'Temporal is unavailable' });
    expect(ms).toBeLessThan(signalDeadlineMs + marginMs);

    const requestId = response.headers.get('x-request-id');
    const failure = receiver.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.requestId === requestId && line.level === 50);
    expect(failure).toMatchObject({
      provider: 'gocardless',
      eventIds: ['EV00BD05S5VM2T', 'EV00BD05TB8K63'],
      // subscriptions.created is a kind no workflow takes: only the mandate event is routed.
      workflowIds: ['gocardless:mandate:MD000AMA19XGEC'],
    });
  });

  it('answers 503 for a batch touching several mandates, still within one deadline', async () => {
    const body = batch(
      { id: 'EV1', type: 'mandates.cancelled', links: { mandate: 'MD1' } },
      { id: 'EV2', type: 'mandates.failed', links: { mandate: 'MD2' } },
      { id: 'EV3', type: 'mandates.reinstated', links: { mandate: 'MD1' } },
      { id: 'EV4', type: 'payments.failed', links: { payment: 'PM1' } },
    );
    const { result: response, ms } = await timed(() => post(receiver, body, signed(body)));
    expect(response.status).toBe(503);
    expect(ms).toBeLessThan(signalDeadlineMs + marginMs);
  });

  it('survives a client that hangs up halfway through its body', async () => {
    const socket = net.connect(Number(new URL(receiver.url).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /webhooks/gocardless HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"events":');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = receiver.logs.map((line) => JSON.parse(line) as { reason?: string });
    expect(lines.some((line) => line.reason === 'request aborted')).toBe(true);
    expect((await fetch(`${receiver.url}/healthz`)).status).toBe(200);
  });

  it('answers 405 to a GET on a webhook URL', async () => {
    const response = await fetch(`${receiver.url}/webhooks/gocardless`);
    expect(response.status).toBe(405);
  });

  it('is live, and not ready, answering readiness within its deadline', async () => {
    const health = await fetch(`${receiver.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const { result: readiness, ms } = await timed(() => fetch(`${receiver.url}/readyz`));
    expect(readiness.status).toBe(503);
    expect(ms).toBeLessThan(1000 + marginMs);
  });

  it('logs a request id on every line and never a secret or a full signature', () => {
    expect(receiver.logs.length).toBeGreaterThan(10);
    for (const line of receiver.logs) {
      expect(JSON.parse(line), line).toHaveProperty('requestId');
      for (const secret of [upstreamSecret, goLibrarySecret, ownSecret, signedBodySignature, goLibrarySignature]) {
        expect(line).not.toContain(secret);
      }
    }
  });
});

describe('receiver against a Temporal that accepts connections but never answers', () => {
  let receiver: Receiver;
  let silent: net.Server;
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    silent = net.createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    receiver = await startReceiver(`127.0.0.1:${(silent.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await receiver.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('answers 503 with Retry-After once the deadline passes', async () => {
    const { result: response, ms } = await timed(() => post(receiver, signedBody, { 'webhook-signature': signedBodySignature }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe(String(retryAfterSeconds));
    expect(ms).toBeGreaterThanOrEqual(signalDeadlineMs - 50);
    expect(ms).toBeLessThan(signalDeadlineMs + marginMs);
    expect(sockets.size).toBeGreaterThan(0);
  });
});

// Provided by the test run's global setup (a shared dev server) when it runs; skipped otherwise.
const temporalAddress = inject('temporalAddress') as string | undefined;

describe.skipIf(!temporalAddress)('receiver against a running Temporal', () => {
  let receiver: Receiver;
  // A task queue no worker polls: the workflows are created and signalled, never run.
  const taskQueue = `receiver-test-${randomUUID()}`;
  const mandateA = `MD${randomUUID()}`;
  const mandateB = `MD${randomUUID()}`;

  beforeAll(async () => {
    receiver = await startReceiver(temporalAddress ?? '', {
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      // Room for a provider payload 10,000 levels deep.
      WEBHOOK_BODY_LIMIT: String(128 * 1024),
    });
  });
  afterAll(async () => {
    for (const workflowId of [`gocardless:mandate:${mandateA}`, `gocardless:mandate:${mandateB}`, 'gocardless:payment:PM1']) {
      await receiver.client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    }
    await receiver.close();
  });

  /** The ids of the billing events signalled to a workflow, in history order. */
  async function signalledEventIds(workflowId: string): Promise<string[]> {
    const history = await receiver.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).flatMap((event) => {
      const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
      return payload ? [(JSON.parse(Buffer.from(payload).toString('utf8')) as { id: string }).id] : [];
    });
  }

  it('is ready', async () => {
    expect((await fetch(`${receiver.url}/readyz`)).status).toBe(200);
  });

  it('answers 200 once every routed event is signalled, starting each mandate workflow', async () => {
    const body = batch(
      { id: 'EV-A1', type: 'mandates.cancelled', links: { mandate: mandateA } },
      { id: 'EV-B1', type: 'mandates.failed', links: { mandate: mandateB } },
      { id: 'EV-A2', type: 'mandates.reinstated', links: { mandate: mandateA } },
      { id: 'EV-P1', type: 'payments.failed', links: { payment: 'PM1' } },
    );
    const response = await post(receiver, body, signed(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 4 });

    const described = await receiver.client.workflow.getHandle(`gocardless:mandate:${mandateA}`).describe();
    expect(described.type).toBe('mandateWorkflow');
    expect(described.taskQueue).toBe(taskQueue);
    expect(described.status.name).toBe('RUNNING');
    expect(described.typedSearchAttributes.get(billingProviderKey)).toBe('gocardless');
    expect(await signalledEventIds(`gocardless:mandate:${mandateA}`)).toEqual(['EV-A1', 'EV-A2']);
    expect(await signalledEventIds(`gocardless:mandate:${mandateB}`)).toEqual(['EV-B1']);
    // The payment names no subscription: its resolver workflow finds it, inside Temporal.
    expect(await signalledEventIds('gocardless:payment:PM1')).toEqual(['EV-P1']);
  });

  it('accepts a verified event whose provider payload is too deep to encode, without that payload: never a 503 the provider retries for ever', async () => {
    const mandate = `MD${randomUUID()}`;
    // 10,000 levels of metadata: JSON.parse reads it, but JSON.stringify (Temporal's converter) cannot.
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const body = batch({ id: 'EV-DEEP', type: 'mandates.cancelled', links: { mandate } }, { id: 'EV-FLAT', type: 'mandates.failed', links: { mandate } }).replace(
      '"metadata":{}',
      `"metadata":${deep}`,
    );
    const response = await post(receiver, body, signed(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 2 });
    const workflowId = `gocardless:mandate:${mandate}`;
    expect(await signalledEventIds(workflowId)).toEqual(['EV-DEEP', 'EV-FLAT']);
    const history = await receiver.client.workflow.getHandle(workflowId).fetchHistory();
    const [deepEvent] = (history.events ?? []).flatMap((event) => {
      const data = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
      return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as { kind: string; references: object; payload: unknown }] : [];
    });
    // Its canonical part is intact; only the provider's own copy was left out, and says why.
    expect(deepEvent).toMatchObject({ kind: 'mandate.cancelled', references: { mandate }, payload: { omitted: expect.stringMatching(/could not be encoded/) } });
    expect(receiver.logs.some((line) => line.includes('EV-DEEP') && line.includes('could not be encoded'))).toBe(true);
    await receiver.client.workflow.getHandle(workflowId).terminate('test over');
  });

  it('signals the running workflow again on a repeated delivery instead of failing', async () => {
    const workflowId = `gocardless:mandate:${mandateB}`;
    const before = await receiver.client.workflow.getHandle(workflowId).describe();
    const body = batch({ id: 'EV-B1', type: 'mandates.failed', links: { mandate: mandateB } });
    const response = await post(receiver, body, signed(body));
    expect(response.status).toBe(200);
    const after = await receiver.client.workflow.getHandle(workflowId).describe();
    expect(after.runId).toBe(before.runId);
    expect(await signalledEventIds(workflowId)).toEqual(['EV-B1', 'EV-B1']);
  });
});
