import type { Logger } from 'pino';
import { createActivities } from '../../activities';
import { AccountStore } from '../store/account-store';
import { openDatabase, type Database } from '../store/database';
import type { Config } from '../config';
import { routeTemporalLogs } from '../temporal/runtime-logging';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { startWorker } from '../temporal/worker';

export interface RunningWorker {
  /** Settles when the worker stops; rejects if it crashed. */
  running: Promise<void>;
  close(): Promise<void>;
}

/** How long activities in flight may take to finish once shutdown starts, before they are cancelled. */
const shutdownGraceTime = '10 seconds';

export interface WorkerProcessOptions {
  /** An account store opened by the caller (who closes it); else the worker opens its own from the config. */
  store?: AccountStore;
}

/** Opens the account store and runs billflow's worker on the configured task queue. */
export async function startWorkerProcess(config: Config, logger: Logger, options: WorkerProcessOptions = {}): Promise<RunningWorker> {
  let store = options.store;
  let database: Database | undefined;
  if (!store) {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    logger.info({ database: database.kind }, 'account store ready');
    store = new AccountStore(database);
  }
  const activities = createActivities({ store, providers: config });
  const metricsBindAddress = workerMetricsAddress(config);
  routeTemporalLogs(logger, { metricsBindAddress });
  if (metricsBindAddress) logger.info({ url: `http://${metricsBindAddress}/metrics` }, 'worker metrics (Temporal SDK) served');
  const worker = await startWorker(config, activities, logger, { shutdownGraceTime });
  // Servers billflow did not start itself (a cluster, docker-compose) learn its search attributes here.
  await ensureSearchAttributes(worker.connection, config.temporal.namespace);
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'worker polling');
  const running = worker.running.finally(() => database?.close());
  return {
    running,
    async close() {
      await worker.shutdown();
      await running;
    },
  };
}

/** `host:port` for the SDK's Prometheus exporter, on the receiver's HOST; undefined when off. */
export function workerMetricsAddress(config: Config): string | undefined {
  if (!config.workerMetricsPort) return undefined;
  const host = config.host === 'localhost' ? '127.0.0.1' : config.host;
  return `${host.includes(':') ? `[${host}]` : host}:${config.workerMetricsPort}`;
}
