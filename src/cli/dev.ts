import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config';
import { AccountStore } from '../store/account-store';
import { openDatabase } from '../store/database';
import { receiverDeadLetters } from '../receiver/dead-letters';
import { startReceiver } from '../run/receiver';
import { startTracing } from '../tracing/start';
import { defaultWorkerMetricsPort, startWorkerProcess, workerMetricsAddress } from '../run/worker';
import { sandboxProviderSettings, startProviderSandbox } from '../testing/sandbox/server';
import { findOrBuildTemporalCli } from '../temporal/cli-binary';
import { TemporalConnectionError, describeTemporalConnection, temporalConnectionOptions } from '../temporal/connection';
import { isAddressListening, probeTemporal, startDevServer, type DevServer } from '../temporal/dev-server';
import { waitForFirstWorkflow } from '../temporal/readiness';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import type { ProviderName } from '../core/events';
import { providerNames } from '../providers/registry';
import { devWebhookStandIns, testingHalves } from '../testing/providers';
import { devWebhookSecret } from '../testing/dev-secrets';
import { stopSignal } from './signals';

export { devWebhookSecret };

type Stop = () => Promise<void>;

/** How long `dev` waits for its first workflow before it says billflow is running anyway. */
const firstWorkflowTimeoutMs = 120_000;

/** Everything up in one process: Temporal dev server (or the one already running), sandbox, worker, receiver. */
export async function runDev(baseConfig: Config, logger: Logger, environment: NodeJS.ProcessEnv = process.env): Promise<void> {
  const stops: Stop[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
  };
  try {
    await mkdir(baseConfig.dataDir, { recursive: true });
    const temporal = await ensureTemporal(baseConfig, logger);
    if (temporal) stops.push(() => temporal.stop());

    // dev's stand-ins are variables like any other: the config is loaded again with them, never changed.
    const standIns: Record<string, string> = {};
    let sandboxUrl: string | undefined;
    const withoutCredentials = providersWithoutApiCredentials(environment);
    if (withoutCredentials.length > 0) {
      const sandbox = await startProviderSandbox({ host: '127.0.0.1', port: baseConfig.sandboxPort }).catch((error: unknown) => {
        throw new Error(`Could not start the provider sandbox on 127.0.0.1:${baseConfig.sandboxPort} (set SANDBOX_PORT to another port): ${String(error)}`);
      });
      stops.push(() => sandbox.close());
      // The sandbox's URLs and credentials for the providers that have none.
      Object.assign(standIns, sandboxProviderSettings(sandbox, environment));
      sandboxUrl = sandbox.url;
      logger.info({ url: sandbox.url, providers: withoutCredentials }, 'no API credentials for these providers: their APIs are the local provider sandbox');
    }
    Object.assign(standIns, localDeliverySettings(baseConfig, environment, logger));
    if (baseConfig.workerMetricsPort === undefined) {
      // Another billflow may be running: dev goes on without worker metrics rather than fail.
      const free = await isPortFree(baseConfig.host, defaultWorkerMetricsPort);
      standIns.WORKER_METRICS_PORT = String(free ? defaultWorkerMetricsPort : 0);
      if (!free) logger.warn(`port ${defaultWorkerMetricsPort} is taken: worker metrics are off (set WORKER_METRICS_PORT)`);
    }
    const config = loadConfig({ ...environment, ...standIns });

    // One store for both: the embedded database takes a single handle, and /accounts reads the
    // worker's effects.
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    stops.push(() => database.close());
    const store = new AccountStore(database);
    // One tracer provider for the process's worker and receiver, under one service name.
    const tracing = await startTracing(config.tracing, { serviceName: 'billflow', logger });
    if (tracing) stops.push(() => tracing.shutdown());
    const worker = await startWorkerProcess(config, logger, { store, tracing });
    stops.push(() => worker.close());
    const receiver = await startReceiver(config, logger, { accounts: store, deadLetters: receiverDeadLetters(database, config), tracing });
    stops.push(() => receiver.close());
    await firstWorkflow(config, logger);

    printWelcome(config, receiver.url, temporal?.uiUrl, sandboxUrl);
    await Promise.race([stopSignal(), worker.running.then(() => Promise.reject(new Error('the worker stopped unexpectedly')))]);
  } finally {
    logger.info('stopping…');
    await stopAll();
  }
}

async function ensureTemporal(config: Config, logger: Logger): Promise<DevServer | undefined> {
  // Probed the way the worker and receiver connect: TLS, client certificate and API key included.
  const options = temporalConnectionOptions(config.temporal);
  const problem = await probeTemporal(options);
  if (problem === undefined) {
    logger.info({ temporal: describeTemporalConnection(config.temporal) }, 'using the Temporal server already running');
    const connection = await Connection.connect(options);
    try {
      await ensureSearchAttributes(connection, config.temporal.namespace);
    } finally {
      await connection.close();
    }
    return undefined;
  }
  // Something answers there but refuses this connection (TLS, certificates, API key): say why
  // rather than fail to start a dev server on its port. A secured connection never means a local
  // dev server either: that one speaks plaintext without credentials.
  if (options.tls || options.apiKey) {
    const reason = new TemporalConnectionError(config.temporal, problem).message;
    throw new Error(`${reason}. dev starts a local dev server only for a plaintext connection: unset the TLS and API key settings to run on one.`, { cause: problem });
  }
  if (await isAddressListening(config.temporal.address)) throw new TemporalConnectionError(config.temporal, problem);
  const cliPath = await findOrBuildTemporalCli({ configuredPath: config.temporal.cliPath, log: (line) => logger.info(line) });
  const { host, port } = splitAddress(config.temporal.address);
  return startDevServer({
    cliPath,
    dbFile: path.resolve(config.dataDir, 'temporal.db'),
    ip: host,
    port,
    uiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
    log: (line) => logger.info(line),
  });
}

/**
 * Waits until a first workflow has been started, run by the worker and completed, so that "billflow
 * is running" means every part a webhook's signal-with-start and its workflow use has answered once.
 * The dev server's own readiness answer (its frontend's system info and namespace) says less: on the
 * first run of a fresh machine the first webhooks after it waited longer than SIGNAL_DEADLINE_MS.
 */
async function firstWorkflow(config: Config, logger: Logger): Promise<void> {
  try {
    const ms = await waitForFirstWorkflow(config, firstWorkflowTimeoutMs);
    logger.info({ ms }, 'Temporal and the worker ran a first workflow');
  } catch (error) {
    // Not fatal: the webhooks' own 503s make the providers retry.
    logger.warn({ err: error }, `no first workflow ran within ${firstWorkflowTimeoutMs / 1000}s: the first webhooks may get 503 until Temporal and the worker catch up`);
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) throw new Error(`TEMPORAL_ADDRESS must be host:port, got "${address}"`);
  const host = match[1] === 'localhost' ? '127.0.0.1' : (match[1] as string);
  return { host, port: Number(match[2]) };
}

function printWelcome(config: Config, receiverUrl: string, uiUrl: string | undefined, sandboxUrl: string | undefined): void {
  const workerMetrics = workerMetricsAddress(config)?.replace(/^(0\.0\.0\.0|\[::\])/, 'localhost');
  const lines = [
    '',
    'billflow is running',
    '',
    '  Webhook URLs (point your providers here):',
    ...providerNames.map((name) => `    ${name.padEnd(12)} ${receiverUrl}/webhooks/${name}`),
    '',
    `  Temporal Web UI:  ${uiUrl ?? `the UI of the server at ${config.temporal.address}`}`,
    `  Temporal server:  ${config.temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
    `  Health:           ${receiverUrl}/healthz   ${receiverUrl}/readyz`,
    `  Metrics:          ${receiverUrl}/metrics${workerMetrics ? `   http://${workerMetrics}/metrics (worker)` : ''}`,
    ...(sandboxUrl ? [`  Provider sandbox: ${sandboxUrl}/_sandbox (stands in for the APIs of providers without credentials)`] : []),
    '',
    '  Send a test webhook:  npx billflow trigger gocardless mandates.cancelled',
    '',
    '  Ctrl-C stops everything; data is kept in ' + path.resolve(config.dataDir),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** The providers whose API credentials `environment` leaves unset: `dev` points them at the sandbox. */
function providersWithoutApiCredentials(environment: NodeJS.ProcessEnv): ProviderName[] {
  return testingHalves.filter(([, testing]) => !testing.hasApiCredentials(environment)).map(([name]) => name);
}

/**
 * Makes `billflow trigger` work against dev out of the box: every provider whose webhook secret
 * or credentials are not configured accepts the dev secret, and CCBill (which signs nothing)
 * accepts deliveries from this machine. Never done outside `dev`.
 */
function localDeliverySettings(config: Config, environment: NodeJS.ProcessEnv, logger: Logger): Record<string, string> {
  const settings = devWebhookStandIns(config, environment);
  const standIns = Object.keys(settings).filter((variable) => !variable.endsWith('_ALLOWED_IPS'));
  if (standIns.length > 0) {
    logger.warn(`${standIns.join(', ')} not set: dev accepts deliveries signed with "${devWebhookSecret}" (Basic: billflow:${devWebhookSecret})`);
  }
  const opened = Object.keys(settings).filter((variable) => variable.endsWith('_ALLOWED_IPS'));
  if (opened.length > 0) logger.info({ variables: opened }, 'dev accepts deliveries from this machine too for the providers that check only addresses');
  return settings;
}

/** Whether nothing listens on host:port yet. */
function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}
