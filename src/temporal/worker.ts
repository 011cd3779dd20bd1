import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { startTracing, type Tracing } from '../tracing/start';
import { TemporalConnectionError, temporalConnectionOptions } from './connection';
import { routeTemporalLogs } from './runtime-logging';
import { workflowTracingInterceptorsPath } from './workflow-bundle';

export interface BillflowWorker {
  worker: Worker;
  connection: NativeConnection;
  /** Resolves when the worker has stopped (after `shutdown()`), rejects if it fails. */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The workflow code a worker runs: give one of the two. Without either, billflow's own workflows
 * (its prebuilt bundle when running compiled, else its sources).
 */
export interface WorkflowCode {
  /**
   * Your workflows file (or folder with an index), which re-exports billflow's workflows
   * (`export * from 'billflow/workflows'`) next to your own. Bundled with webpack when the worker
   * starts: for development and tests.
   */
  workflowsPath?: string;
  /** A bundle built ahead of time by `bundleWorkflows` (`bundleWorkflowCode`): production, no webpack at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export type StartWorkerOptions = WorkflowCode &
  Pick<WorkerOptions, 'shutdownGraceTime'> & {
    /**
     * The process's tracing, when the caller started it (`startTracing`); else the worker starts
     * its own if `OTEL_EXPORTER_OTLP_ENDPOINT` asks for it, and stops it with the worker.
     */
    tracing?: Tracing;
  };

/** billflow's own workflows as sources: the folder of `workflows/index`, `.ts` in the repository and `.js` when compiled. */
export const billflowWorkflowsPath = path.resolve(__dirname, '../../workflows');

/** Where `npm run build` writes the bundle of billflow's own workflows: `dist/workflow-bundle.js`. */
export const billflowWorkflowBundlePath = path.resolve(__dirname, '../../workflow-bundle.js');

/** The workflow code to run: what the caller gave, else billflow's prebuilt bundle if built, else its sources. */
export function workflowCode(options: WorkflowCode): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  if (options.workflowsPath && options.workflowBundle) throw new Error('Give the worker either workflowsPath or workflowBundle, not both');
  if (options.workflowBundle) return { workflowBundle: options.workflowBundle };
  if (options.workflowsPath) return { workflowsPath: options.workflowsPath };
  // Only compiled code sits next to a bundle: from the sources (tsx) there is none, so no stale one is ever picked.
  if (existsSync(billflowWorkflowBundlePath)) return { workflowBundle: { codePath: billflowWorkflowBundlePath } };
  return { workflowsPath: billflowWorkflowsPath };
}

/**
 * Starts a worker polling billflow's task queue with the given workflow code and activities
 * (billflow's, from `createBillflowActivities`, spread next to yours).
 */
export async function startWorker(config: Config, activities: object, logger: Logger, options: StartWorkerOptions = {}): Promise<BillflowWorker> {
  const { workflowsPath, workflowBundle, tracing: givenTracing, ...workerOptions } = options;
  routeTemporalLogs(logger);
  const ownTracing = givenTracing ? undefined : await startTracing(config.tracing, { serviceName: 'billflow-worker', logger });
  const tracing = givenTracing ?? ownTracing;
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal)).catch(async (error: unknown) => {
    await ownTracing?.shutdown();
    throw new TemporalConnectionError(config.temporal, error);
  });
  const code = workflowCode({ workflowsPath, workflowBundle });
  const traced = tracing && (await import('../tracing/temporal.js')).tracedWorkerOptions(tracing);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...code,
    activities,
    interceptors: {
      ...traced?.interceptors,
      // A prebuilt bundle has billflow's workflow interceptors built in (bundleWorkflows); workflow
      // code bundled at start gets them here, so both behave alike with tracing on and off.
      ...(code.workflowsPath ? { workflowModules: [workflowTracingInterceptorsPath] } : {}),
    },
    // With tracing off the workflow interceptors stay inert and never call it; a workflow reached by
    // a traced client all the same (a receiver tracing, this worker not) finds it and drops its spans.
    sinks: traced?.sinks ?? { exporter: { export: { fn: () => undefined } } },
    // billflow's workflow tasks are short and many (a signal or two each; every entity a workflow of
    // its own), so the worker spends most of a task waiting on the server. The SDK's defaults (40
    // tasks at once, 10 pollers, 1 thread) let the task queue grow faster than the worker drained it:
    // measured with `npm run bench -- worker`, see bench/README.md.
    maxConcurrentWorkflowTaskExecutions: config.workerTuning.workflowTaskSlots,
    workflowThreadPoolSize: config.workerTuning.workflowThreads,
    // Pollers scale with the server's backlog instead of a fixed 10 (2 of them for new workflows).
    workflowTaskPollerBehavior: { type: 'autoscaling' },
    activityTaskPollerBehavior: { type: 'autoscaling' },
    ...workerOptions,
  }).catch(async (error: unknown) => {
    await connection.close();
    await ownTracing?.shutdown();
    throw error;
  });
  // The spans still batched leave once the worker has stopped.
  const running = worker.run().finally(async () => {
    await connection.close();
    await ownTracing?.shutdown();
  });
  return {
    worker,
    connection,
    running,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
