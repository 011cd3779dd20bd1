#!/usr/bin/env node
// Worker start-up, process start to its "worker polling" log line, a few runs of one command:
//   TEMPORAL_ADDRESS=127.0.0.1:7233 node scripts/measure-worker-startup.mjs [--runs 5] -- node dist/src/cli/main.js worker
// Each run gets a task queue and data directory of its own and is stopped with SIGTERM once polling.
// Also shown: the part after "account store ready" (the worker itself: workflow code, connection,
// search attributes), since opening the embedded store is the same for every variant.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '5' } }, allowPositionals: true });
if (positionals.length === 0) throw new Error('usage: measure-worker-startup.mjs [--runs N] -- <command…>');
const [command, ...args] = positionals;

function once(run) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'billflow-startup-'));
  const env = { ...process.env, TEMPORAL_TASK_QUEUE: `startup-${process.pid}-${run}`, BILLFLOW_DATA_DIR: dataDir, WORKER_METRICS_PORT: '0', LOG_LEVEL: 'info' };
  const started = performance.now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    let storeReadyAfterMs;
    let pollingAfterMs;
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      if (storeReadyAfterMs === undefined && buffered.includes('"msg":"account store ready"')) storeReadyAfterMs = performance.now() - started;
      if (pollingAfterMs === undefined && buffered.includes('"msg":"worker polling"')) {
        pollingAfterMs = performance.now() - started;
        child.kill('SIGTERM');
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      if (pollingAfterMs === undefined) reject(new Error(`exited (${code}) before polling:\n${buffered.slice(-2000)}`));
      else resolve({ total: pollingAfterMs, worker: pollingAfterMs - (storeReadyAfterMs ?? 0) });
    });
  });
}

const seconds = (ms) => (ms / 1000).toFixed(2);
const runs = [];
for (let run = 1; run <= Number(values.runs); run += 1) {
  const times = await once(run);
  runs.push(times);
  process.stdout.write(`run ${run}: ${seconds(times.total)} s to polling (${seconds(times.worker)} s after the store was ready)\n`);
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
process.stdout.write(
  `median ${seconds(median(runs.map((run) => run.total)))} s to polling, ${seconds(median(runs.map((run) => run.worker)))} s after the store, over ${runs.length} runs: ${[command, ...args].join(' ')}\n`,
);
