import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { getFreePort } from '../../src/free-port';
import { buildWebhook, sendWebhook } from '../../src/testing';

const bin = path.resolve(__dirname, '../../bin/billflow.js');

/*
 * `billflow dev` as a newcomer first runs it: a data directory of its own, so the dev server it
 * starts creates its database, namespace and search attributes, and the worker loads its workflows,
 * all for the first time. Webhooks sent the moment it says it is running must be accepted.
 */
describe('billflow dev, first run on a fresh data directory', () => {
  let child: ChildProcess | undefined;
  let dataDir = '';

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await once(child, 'exit');
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs a first workflow before it says it is running, and accepts the webhooks sent right after', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'billflow-first-run-'));
    const [port, sandboxPort, uiPort, metricsPort, temporalPort] = await Promise.all([getFreePort(), getFreePort(), getFreePort(), getFreePort(), getFreePort()]);
    child = spawn(process.execPath, [bin, 'dev'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        TEMPORAL_CLI: inject('temporalCliPath'),
        TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
        PORT: String(port),
        SANDBOX_PORT: String(sandboxPort),
        TEMPORAL_UI_PORT: String(uiPort),
        WORKER_METRICS_PORT: String(metricsPort),
        BILLFLOW_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const startedAt = Date.now();
    while (!output.includes('billflow is running')) {
      if (child.exitCode !== null) throw new Error(`dev exited ${child.exitCode}: ${output}`);
      if (Date.now() - startedAt > 240_000) throw new Error(`dev did not start within 240 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Logged before the welcome is printed (pino's transport may write it a moment later).
    while (!output.includes('Temporal and the worker ran a first workflow')) {
      if (Date.now() - startedAt > 240_000) throw new Error(`no first workflow logged: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // The newcomer: four webhooks at once, the moment dev says it is running (dev's secret, its defaults).
    const answers = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const sent = Date.now();
        const response = await sendWebhook(`http://127.0.0.1:${port}`, buildWebhook('gocardless', 'mandates.cancelled'));
        return { status: response.status, body: await response.text(), ms: Date.now() - sent };
      }),
    );
    const firstWorkflowMs = /ran a first workflow[\s\S]*?ms: (\d+)/.exec(output)?.[1];
    console.log(`first run: dev ready after ${Date.now() - startedAt} ms (its first workflow ${firstWorkflowMs ?? '?'} ms); first webhooks answered in ${answers.map((answer) => answer.ms).join(', ')} ms`);
    expect(answers.map((answer) => [answer.status, answer.body])).toEqual(Array.from({ length: 4 }, () => [200, '{"accepted":1}']));
  }, 300_000);
});
