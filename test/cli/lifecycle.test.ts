import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { getFreePort } from '../../src/free-port';
import { signWebhookBody } from '../../src/testing/sign';
import { upperId } from '../../src/testing/webhooks/ids';
import { eventually } from '../support/eventually';

const bin = path.resolve(__dirname, '../../bin/billflow.js');
const secret = 'lifecycle-test-secret';
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface Running {
  child: ChildProcess;
  /** JSON log lines so far. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** `node bin/billflow.js <command>` as production runs it; resolves once `readyMessage` is logged. */
async function start(command: string, environment: Record<string, string>, readyMessage: string): Promise<Running> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'billflow-lifecycle-'));
  dirs.push(dataDir);
  const child = spawn(process.execPath, [bin, command], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `lifecycle-${randomUUID()}`,
      BILLFLOW_DATA_DIR: dataDir,
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'close', not 'exit': only then has everything the process wrote been read, its last log lines included.
  const exited = once(child, 'close').then(([code]) => code as number | null);
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`billflow ${command} exited ${child.exitCode}: ${stderr}`);
    expect(logs.map((line) => line.msg)).toContain(readyMessage);
  }, 60_000);
  return { child, logs, exited };
}

function cancellation(mandateId: string): string {
  return JSON.stringify({
    events: [
      {
        id: upperId('EV'),
        created_at: new Date().toISOString(),
        resource_type: 'mandates',
        action: 'cancelled',
        links: { mandate: mandateId },
        details: { origin: 'bank', cause: 'bank_account_closed' },
      },
    ],
  });
}

describe('billflow receiver on SIGTERM', () => {
  it('answers the webhook in flight once it is durable, refuses new connections, and exits 0', async () => {
    const port = await getFreePort();
    const receiver = await start('receiver', { PORT: String(port), GOCARDLESS_WEBHOOK_SECRET: secret }, 'receiver listening');

    const body = Buffer.from(cancellation(upperId('MD')));
    const request = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/webhooks/gocardless',
      headers: {
        'content-type': 'application/json',
        'content-length': body.length,
        ...signWebhookBody('gocardless', body, secret),
      },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      request.once('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      });
      request.once('error', reject);
    });
    // Half the body now: the receiver is reading it, so the webhook is in flight.
    request.write(body.subarray(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 300));

    receiver.child.kill('SIGTERM');
    await eventually(async () => expect(receiver.logs.map((line) => line.msg)).toContain('stopping: no new connections, answering the webhooks in flight'));
    expect(receiver.child.exitCode).toBeNull();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();

    request.end(body.subarray(40));
    const answer = await answered;
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ accepted: 1 }) });
    expect(await receiver.exited).toBe(0);
    expect(receiver.logs.at(-1)?.msg).toBe('receiver stopped');
  });

  it('gives up on a webhook still in flight after SHUTDOWN_TIMEOUT_MS: exits 1 without answering it', async () => {
    const port = await getFreePort();
    const receiver = await start('receiver', { PORT: String(port), GOCARDLESS_WEBHOOK_SECRET: secret, SHUTDOWN_TIMEOUT_MS: '1500' }, 'receiver listening');
    // A sender that never finishes its body: the delivery stays in flight for good.
    const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/webhooks/gocardless', headers: { 'content-type': 'application/json', 'content-length': 1000 } });
    const outcome = new Promise<string>((resolve) => {
      request.once('response', (response) => resolve(`answered ${response.statusCode}`));
      request.once('error', (error) => resolve(`no answer: ${error.message}`));
    });
    request.write('{"events": [');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalledAt = Date.now();
    receiver.child.kill('SIGTERM');
    expect(await receiver.exited).toBe(1);
    const took = Date.now() - signalledAt;
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(10_000);
    expect(await outcome).toMatch(/^no answer/);
    // Written before the exit, although log writes are asynchronous: pino flushes on exit.
    expect(receiver.logs.at(-1)).toMatchObject({ msg: 'webhooks still in flight: exiting without answering them', afterMs: 1500 });
  });
});

describe('billflow worker', () => {
  it('exports the Temporal SDK metrics and shuts down gracefully on SIGTERM', async () => {
    const metricsPort = await getFreePort();
    const worker = await start('worker', { GOCARDLESS_ACCESS_TOKEN: 'unused-token', WORKER_METRICS_PORT: String(metricsPort) }, 'worker polling');
    const metrics = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toMatch(/^temporal_\w+/m);
      return text;
    });
    expect(metrics).toContain('temporal_worker_start');

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const messages = worker.logs.map((line) => line.msg);
    expect(messages).toContain('stopping: finishing the tasks in progress');
    expect(messages.at(-1)).toBe('worker stopped');
    // Webpack's build statistics are debug detail, not part of an info log.
    expect(worker.logs.some((line) => /webpack [\d.]+ compiled/.test(String(line.msg)))).toBe(false);
  });
});
