import { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { createActivities } from '../../activities';
import { startCatchUp } from '../catch-up/start';
import { routeEvents } from '../routing';
import type { WorkflowRouteEntry } from '../workflow-routes';
import { AccountStore } from '../store/account-store';
import { DeadLetterStore } from '../store/dead-letter-store';
import { openDatabase, type Database } from '../store/database';
import type { Config } from '../config';
import { describeTemporalConnection } from '../temporal/connection';
import { routeTemporalLogs } from '../temporal/runtime-logging';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { startWorker, type WorkflowCode } from '../temporal/worker';
import type { Tracing } from '../tracing/start';

export interface RunningWorker {
  /** Settles when the worker stops; rejects if it crashed. */
  running: Promise<void>;
  close(): Promise<void>;
}

/** How long activities in flight may take to finish once shutdown starts, before they are cancelled. */
const shutdownGraceTime = '10 seconds';

/** Where `worker` and `dev` serve the Temporal SDK's metrics unless WORKER_METRICS_PORT says otherwise. */
export const defaultWorkerMetricsPort = 9464;

export interface WorkerProcessOptions extends WorkflowCode {
  /** An account store opened by the caller (who closes it); else the worker opens its own from the config. */
  store?: AccountStore;
  /** Your activities, registered next to billflow's (a name of yours replaces billflow's). */
  activities?: object;
  /** Your workflow routes (as given to the receiver): caught-up events go to them too. */
  routes?: readonly WorkflowRouteEntry[];
  /** Start (or update) the providers' catch-up workflows (`BILLFLOW_CATCH_UP`); true when absent. */
  catchUp?: boolean;
  /** The process's tracing, when the caller started it; else the worker starts its own as the settings say. */
  tracing?: Tracing;
}

/** billflow's activities (provider APIs from the config, the account store), to spread next to your own. */
export function createBillflowActivities(config: Config, store: AccountStore, routes: readonly WorkflowRouteEntry[] = []) {
  const deadLetters = new DeadLetterStore(store.database, { retentionDays: config.deadLetters.retentionDays });
  return createActivities({ store, deadLetters, providers: config, route: (event) => routeEvents(event, { settings: config.workflows, userRoutes: routes }) });
}

/**
 * Opens the account store and runs a worker on the configured task queue: billflow's activities
 * and yours, and the workflow code given (by default billflow's own workflows).
 */
export async function startWorkerProcess(config: Config, logger: Logger, options: WorkerProcessOptions = {}): Promise<RunningWorker> {
  let store = options.store;
  let database: Database | undefined;
  if (!store) {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    logger.info({ database: database.kind }, 'account store ready');
    store = new AccountStore(database);
  }
  const activities = { ...createBillflowActivities(config, store, options.routes), ...options.activities };
  const metricsBindAddress = workerMetricsAddress(config);
  routeTemporalLogs(logger, { metricsBindAddress });
  if (metricsBindAddress) logger.info({ url: `http://${metricsBindAddress}/metrics` }, 'worker metrics (Temporal SDK) served');
  const worker = await startWorker(config, activities, logger, {
    shutdownGraceTime,
    workflowsPath: options.workflowsPath,
    workflowBundle: options.workflowBundle,
    tracing: options.tracing,
  }).catch(async (error: unknown) => {
    await database?.close();
    throw error;
  });
  // Servers billflow did not start itself (a cluster, docker-compose) learn its search attributes here.
  await ensureSearchAttributes(worker.connection, config.temporal.namespace);
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, temporal: describeTemporalConnection(config.temporal) }, 'worker polling');
  const running = worker.running.finally(() => database?.close());
  if (options.catchUp !== false) {
    try {
      const caughtUp = await startCatchUp(new Client({ connection: worker.connection, namespace: config.temporal.namespace }), config);
      logger.info({ providers: caughtUp, intervalMs: config.catchUp.intervalMs }, caughtUp.length > 0 ? "catch-up from the providers' event lists running" : 'no provider to catch up from');
    } catch (error) {
      await worker.shutdown();
      await running;
      throw error;
    }
  }
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
