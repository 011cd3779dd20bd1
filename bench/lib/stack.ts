import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { getFreePort } from '../../src/free-port';
import { sandboxProviderSettings, startProviderSandbox, type ProviderSandbox } from '../../src/testing/sandbox/server';
import { findOrBuildTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { signalRetryInterceptors } from '../../src/temporal/grpc-retry';
import { spawnTypeScript, waitFor, type Child } from './processes';
import { startBenchTemporal, type BenchServer, type BenchTemporal } from './temporal';
import { receiverEnvironment } from './webhooks';

export type Log = (line: string) => void;

/** A scratch directory for one run: logs, the dev server's database, the account store. */
export async function scratchDirectory(name: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `billflow-${name}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface TemporalOptions {
  /** Persist to this SQLite file (so that a SIGKILLed server restarts with its state); in memory when absent. */
  dbFile?: string;
  /** The same port again after a restart, so that connected clients find it. */
  port?: number;
  cliPath?: string;
  log?: Log;
  /** Appends the server's own output (its warnings and errors) here once it is up. */
  logFile?: string;
  /** SQLite pragmas of a persisted server (`startDevServer`'s default when absent). */
  sqlitePragmas?: string[];
}

/** A Temporal dev server of the run's own: nobody else's workflows load it. */
export async function startTemporal(options: TemporalOptions = {}): Promise<DevServer> {
  const cli = options.cliPath ?? (await findOrBuildTemporalCli({ log: options.log }));
  const server = await startDevServer({ cliPath: cli, dbFile: options.dbFile, sqlitePragmas: options.sqlitePragmas, port: options.port ?? (await getFreePort()), log: options.log });
  if (options.logFile) {
    const file = createWriteStream(options.logFile, { flags: 'a' });
    server.process.stdout?.on('data', (chunk: Buffer) => file.write(chunk));
    server.process.stderr?.on('data', (chunk: Buffer) => file.write(chunk));
    server.process.once('exit', () => file.end());
  }
  return server;
}

export async function connectClient(address: string): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address, interceptors: signalRetryInterceptors() }) });
}

export function uniqueTaskQueue(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

export interface EnvironmentOptions {
  temporalAddress: string;
  taskQueue: string;
  sandbox: ProviderSandbox;
  /** The worker's embedded account store lives under it (BILLFLOW_DATA_DIR). */
  dataDir: string;
  logLevel?: string;
  extra?: Record<string, string>;
}

/** What `billflow receiver` and `billflow worker` read: every provider's secret, the sandbox's APIs. */
export function billflowEnvironment(options: EnvironmentOptions): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: options.temporalAddress,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    HOST: '127.0.0.1',
    BILLFLOW_DATA_DIR: options.dataDir,
    LOG_LEVEL: options.logLevel ?? 'info',
    WORKER_METRICS_PORT: '0',
    // The senders here retry within seconds, not the half minute a provider is asked to wait.
    RETRY_AFTER_SECONDS: '1',
    ...receiverEnvironment(),
    ...sandboxProviderSettings(options.sandbox, {}),
    ...options.extra,
  };
}

export { startProviderSandbox };

export interface ReceiverChild {
  url: string;
  child: Child;
}

/** `billflow receiver` in a process of its own, as in production; on `env.PORT` when set (a restart on its port), else a free one. */
export async function startReceiverChild(env: Record<string, string>, logFile: string, nodeFlags: string[] = []): Promise<ReceiverChild> {
  const port = env.PORT ? Number(env.PORT) : await getFreePort();
  const child = spawnTypeScript('bin/billflow.js', ['receiver'], { env: { ...env, PORT: String(port) }, logFile, nodeFlags });
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([
    waitFor(async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined), 60_000, `receiver did not come up (log: ${logFile})`),
    child.exited.then(() => {
      throw new Error(`receiver exited before it listened (log: ${logFile})`);
    }),
  ]);
  return { url, child };
}

export interface WorkerMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

export interface WorkerChild {
  child: Child;
  memory(): Promise<WorkerMemory>;
  /** Rows in the account store's change log (every suspend/reinstate/reset/end applied). */
  accountChanges(): Promise<number>;
  /** The Temporal SDK's Prometheus text, when the worker serves it. */
  metricsUrl?: string;
}

/**
 * billflow's worker (`startWorkerProcess`, what `billflow worker` runs) in a child process that can
 * be SIGKILLed, answering memory and account-store questions over IPC.
 */
export async function startWorkerChild(env: Record<string, string>, logFile: string, options: { nodeFlags?: string[]; metrics?: boolean } = {}): Promise<WorkerChild> {
  const metricsPort = options.metrics ? await getFreePort() : 0;
  const child = spawnTypeScript('bench/lib/worker-child.ts', [], {
    env: { ...env, WORKER_METRICS_PORT: String(metricsPort) },
    logFile,
    ipc: true,
    nodeFlags: options.nodeFlags,
  });
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.process.on('message', (message: { id?: number; type: string; value?: unknown }) => {
      if (message.type === 'ready') resolve();
      else if (message.id !== undefined) pending.get(message.id)?.(message.value);
    });
    void child.exited.then(({ code, signal }) => reject(new Error(`worker exited (${signal ?? code}) before it polled (log: ${logFile})`)));
  });
  await ready;
  const ask = <T>(type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`worker did not answer ${type}`)), 30_000);
      pending.set(id, (value) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(value as T);
      });
      child.process.send({ id, type });
    });
  return {
    child,
    memory: () => ask<WorkerMemory>('memory'),
    accountChanges: () => ask<number>('accountChanges'),
    metricsUrl: metricsPort ? `http://127.0.0.1:${metricsPort}/metrics` : undefined,
  };
}

export interface BenchStackOptions {
  /** Names the scratch directory and the task queue, e.g. `bench-ingest`. */
  name: string;
  /** LOG_LEVEL of billflow's processes. */
  logLevel: string;
  /** Starts billflow's worker (serving its metrics) beside the receiver. */
  worker?: boolean;
  /** Writes CPU profiles of this process into `profileDir`, and keeps the scratch directory. */
  profile?: 'receiver' | 'worker';
  /** The Temporal to run on (default the dev server). */
  server?: BenchServer;
  /** More variables for billflow's processes (shortened schedules, say). */
  extra?: Record<string, string>;
}

/** What every end-to-end benchmark runs on: a dev server, the sandbox, billflow's processes, a client. */
export interface BenchStack {
  temporal: BenchTemporal;
  sandbox: ProviderSandbox;
  taskQueue: string;
  /** The environment billflow's processes run with. */
  env: Record<string, string>;
  receiver: ReceiverChild;
  worker?: WorkerChild;
  client: Client;
  /** Where `profile` writes its CPU profiles. */
  profileDir: string;
  /** Stops everything, and removes the scratch directory unless profiles were written to it. */
  stop(): Promise<void>;
}

/** Starts a benchmark's own stack; `stop()` it in a `finally`. */
export async function startBenchStack(options: BenchStackOptions & { worker: true }): Promise<BenchStack & { worker: WorkerChild }>;
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack>;
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const scratch = await scratchDirectory(options.name);
  const temporal = await startBenchTemporal(options.server ?? 'dev', options.name);
  const sandbox = await startProviderSandbox();
  const taskQueue = uniqueTaskQueue(options.name);
  const env = billflowEnvironment({ temporalAddress: temporal.address, taskQueue, sandbox, dataDir: path.join(scratch.dir, 'data'), logLevel: options.logLevel, extra: options.extra });
  const profileDir = path.join(scratch.dir, 'profiles');
  const profileFlags = (process: 'receiver' | 'worker') => (options.profile === process ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const worker = options.worker ? await startWorkerChild(env, path.join(scratch.dir, 'worker.log'), { metrics: true, nodeFlags: profileFlags('worker') }) : undefined;
  const receiver = await startReceiverChild(env, path.join(scratch.dir, 'receiver.log'), profileFlags('receiver'));
  const client = await connectClient(temporal.address);
  return {
    temporal,
    sandbox,
    taskQueue,
    env,
    receiver,
    worker,
    client,
    profileDir,
    async stop() {
      await receiver.child.stop();
      await worker?.child.stop();
      await client.connection.close();
      await sandbox.close();
      await temporal.stop();
      if (!options.profile) await scratch.remove();
    },
  };
}
