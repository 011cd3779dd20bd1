import { NativeConnection, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { Config } from '../config';

export interface BillflowWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after `shutdown()`), rejects if it fails. */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts a worker polling billflow's task queue with its workflows and the given activities. */
export async function startWorker(config: Config, activities: Activities): Promise<BillflowWorker> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities,
  });
  const running = worker.run().finally(() => connection.close());
  return {
    worker,
    running,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
