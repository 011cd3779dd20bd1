import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { temporalConnectionOptions } from './connection';

/** One id for every dev start: the Web UI lists a single readiness workflow, with a run per start. */
export const readinessWorkflowId = 'billflow:dev:readiness';

/**
 * Runs `readinessWorkflow` on billflow's task queue and waits for its result: resolves with how long
 * the whole path (start, the worker's first workflow task, completion) took, or rejects once
 * `timeoutMs` has passed.
 */
export async function waitForFirstWorkflow(config: Config, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const connection = await Connection.connect({ ...temporalConnectionOptions(config.temporal), connectTimeout: timeoutMs });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    await connection.withDeadline(started + timeoutMs, () =>
      client.workflow.execute('readinessWorkflow', {
        workflowId: readinessWorkflowId,
        taskQueue: config.temporal.taskQueue,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: 'billflow dev: the first workflow, run before billflow says it is running',
      }),
    );
    return Date.now() - started;
  } finally {
    await connection.close();
  }
}
