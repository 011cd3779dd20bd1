import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config';
import { AccountStore } from '../store/account-store';
import { openDatabase } from '../store/database';
import { startReceiver } from '../run/receiver';
import { startWorkerProcess, workerMetricsAddress } from '../run/worker';
import { sandboxProviderSettings, startProviderSandbox } from '../testing/sandbox/server';
import { findOrBuildTemporalCli } from '../temporal/cli-binary';
import { startDevServer, isTemporalReachable, type DevServer } from '../temporal/dev-server';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { providerNames } from '../providers';
import { devWebhookSecret } from './dev-secrets';
import { stopSignal } from './signals';

export { devWebhookSecret };

/** Where `worker` and `dev` serve the Temporal SDK's metrics unless WORKER_METRICS_PORT says otherwise. */
export const defaultWorkerMetricsPort = 9464;

type Stop = () => Promise<void>;

/** Everything up in one process: Temporal dev server (or the one already running), sandbox, worker, receiver. */
export async function runDev(config: Config, logger: Logger): Promise<void> {
  const stops: Stop[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
  };
  try {
    await mkdir(config.dataDir, { recursive: true });
    const temporal = await ensureTemporal(config, logger);
    if (temporal) stops.push(() => temporal.stop());

    let sandboxUrl: string | undefined;
    const withoutCredentials = providersWithoutApiCredentials(config);
    if (withoutCredentials.length > 0) {
      const sandbox = await startProviderSandbox({ host: '127.0.0.1', port: config.sandboxPort }).catch((error: unknown) => {
        throw new Error(`Could not start the provider sandbox on 127.0.0.1:${config.sandboxPort} (set SANDBOX_PORT to another port): ${String(error)}`);
      });
      stops.push(() => sandbox.close());
      // The same variables, plus the sandbox's URLs and credentials for the providers that have none.
      const sandboxed = loadConfig({ ...process.env, ...sandboxProviderSettings(sandbox, process.env) });
      config.gocardless = sandboxed.gocardless;
      config.recurly = sandboxed.recurly;
      config.stripe = sandboxed.stripe;
      config.billforward = sandboxed.billforward;
      config.ccbill = sandboxed.ccbill;
      sandboxUrl = sandbox.url;
      logger.info({ url: sandbox.url, providers: withoutCredentials }, 'no API credentials for these providers: their APIs are the local provider sandbox');
    }
    acceptLocalDeliveries(config, logger);

    if (config.workerMetricsPort === undefined) {
      // Another billflow may be running: dev goes on without worker metrics rather than fail.
      config.workerMetricsPort = (await isPortFree(config.host, defaultWorkerMetricsPort)) ? defaultWorkerMetricsPort : 0;
      if (config.workerMetricsPort === 0) logger.warn(`port ${defaultWorkerMetricsPort} is taken: worker metrics are off (set WORKER_METRICS_PORT)`);
    }
    // One store for both: the embedded database takes a single handle, and /accounts reads the
    // worker's effects.
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    stops.push(() => database.close());
    const store = new AccountStore(database);
    const worker = await startWorkerProcess(config, logger, { store });
    stops.push(() => worker.close());
    const receiver = await startReceiver(config, logger, { accounts: store });
    stops.push(() => receiver.close());

    printWelcome(config, receiver.url, temporal?.uiUrl, sandboxUrl);
    await Promise.race([stopSignal(), worker.running.then(() => Promise.reject(new Error('the worker stopped unexpectedly')))]);
  } finally {
    logger.info('stopping…');
    await stopAll();
  }
}

async function ensureTemporal(config: Config, logger: Logger): Promise<DevServer | undefined> {
  if (await isTemporalReachable(config.temporal.address)) {
    logger.info({ address: config.temporal.address }, 'using the Temporal server already running');
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      await ensureSearchAttributes(connection, config.temporal.namespace);
    } finally {
      await connection.close();
    }
    return undefined;
  }
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

function providersWithoutApiCredentials(config: Config): string[] {
  const missing = {
    gocardless: !config.gocardless.accessToken,
    recurly: !config.recurly.apiKey,
    stripe: !config.stripe.apiKey,
    billforward: !config.billforward.accessToken,
    ccbill: !config.ccbill.datalinkUsername && !config.ccbill.datalinkPassword,
  };
  return Object.entries(missing).flatMap(([provider, isMissing]) => (isMissing ? [provider] : []));
}

/**
 * Makes `billflow trigger` work against dev out of the box: every provider whose webhook secret
 * or credentials are not configured accepts the dev secret, and CCBill (which signs nothing)
 * accepts deliveries from this machine. Never done outside `dev`.
 */
function acceptLocalDeliveries(config: Config, logger: Logger): void {
  const standIns: string[] = [];
  for (const [variable, settings] of [
    ['GOCARDLESS_WEBHOOK_SECRET', config.gocardless],
    ['STRIPE_WEBHOOK_SECRET', config.stripe],
    ['RECURLY_WEBHOOK_SECRET', config.recurly],
  ] as const) {
    if (settings.webhookSecrets.length > 0) continue;
    settings.webhookSecrets = [devWebhookSecret];
    standIns.push(variable);
  }
  if (config.billforward.basicAuth.length === 0) {
    config.billforward.basicAuth = [{ user: 'billflow', password: devWebhookSecret }];
    standIns.push('BILLFORWARD_WEBHOOK_BASIC_AUTH');
  }
  if (standIns.length > 0) {
    logger.warn(`${standIns.join(', ')} not set: dev accepts deliveries signed with "${devWebhookSecret}" (Basic: billflow:${devWebhookSecret})`);
  }
  const loopback = ['127.0.0.1', '::1'].filter((ip) => !config.ccbill.allowedIps.includes(ip));
  if (loopback.length > 0) {
    config.ccbill.allowedIps = [...config.ccbill.allowedIps, ...loopback];
    logger.info('dev accepts CCBill deliveries from this machine too');
  }
}

/** Whether nothing listens on host:port yet. */
function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}
