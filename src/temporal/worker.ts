import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { routeTemporalLogs } from './runtime-logging';

export interface BillflowWorker {
  worker: Worker;
  connection: NativeConnection;
  /** Resolves when the worker has stopped (after `shutdown()`), rejects if it fails. */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts a worker polling billflow's task queue with its workflows and the given activities. */
export async function startWorker(
  config: Config,
  activities: Activities,
  logger: Logger,
  options: Pick<WorkerOptions, 'shutdownGraceTime'> = {},
): Promise<BillflowWorker> {
  routeTemporalLogs(logger);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    // A directory, not require.resolve: the bundler resolves index.ts itself, with or without a TS loader.
    workflowsPath: path.resolve(__dirname, '../../workflows'),
    activities,
    // billflow's workflow tasks are short and many (a signal or two each; every entity a workflow of
    // its own), so the worker spends most of a task waiting on the server. The SDK's defaults (40
    // tasks at once, 10 pollers, 1 thread) let the task queue grow faster than the worker drained it:
    // measured with `npm run bench -- worker`, see bench/README.md.
    maxConcurrentWorkflowTaskExecutions: config.workerTuning.workflowTaskSlots,
    workflowThreadPoolSize: config.workerTuning.workflowThreads,
    // Pollers scale with the server's backlog instead of a fixed 10 (2 of them for new workflows).
    workflowTaskPollerBehavior: { type: 'autoscaling' },
    activityTaskPollerBehavior: { type: 'autoscaling' },
    ...options,
  });
  const running = worker.run().finally(() => connection.close());
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
