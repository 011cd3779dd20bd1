import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { BillingEvent } from '../../../src/core/events';
import { routeEvents } from '../../../src/routing';
import { deliverEvents } from '../../../src/temporal/deliver';
import type { WorkflowRouteEntry } from '../../../src/workflow-routes';
import { defaultWorkflowSettings, type WorkflowSettings } from '../../../src/workflow-settings';

// Events as a parser makes them, for tests with or without a worker.
export { billingEvent, uniqueId } from './events';

export const workflowsPath = path.resolve(__dirname, '../../../workflows');

let runtimeInstalled = false;

/** A real worker on a task queue of its own, with the activities the test gives it. */
export async function startTestWorker(activities: object, taskQueue = `wf-${randomUUID()}`) {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await Worker.create({ connection, taskQueue, workflowsPath, activities });
  const running = worker.run().finally(() => connection.close());
  return {
    taskQueue,
    worker,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

export async function connectClient(): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
}

/** Routes and signals events exactly as the receiver does, after its HTTP part. */
export async function deliver(
  client: Client,
  taskQueue: string,
  events: BillingEvent[],
  options: { settings?: Partial<WorkflowSettings>; userRoutes?: readonly WorkflowRouteEntry[] } = {},
): Promise<string[]> {
  const settings = { ...defaultWorkflowSettings, ...options.settings };
  const deliveries = events.flatMap((event) => routeEvents(event, { settings, userRoutes: options.userRoutes ?? [] }).map((route) => ({ event, route })));
  await deliverEvents(client, deliveries, { taskQueue, deadlineMs: 10_000 });
  return [...new Set(deliveries.map(({ route }) => route.workflowId))];
}

/** Every run of a workflow id, oldest first: shows how far its continue-as-new chain went. */
export async function runsOf(client: Client, workflowId: string): Promise<string[]> {
  const runs: { runId: string; startTime: Date }[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push({ runId: execution.runId, startTime: execution.startTime });
  }
  return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime()).map((run) => run.runId);
}

/** The Web UI's "current details" of a workflow, as Temporal's built-in metadata query returns them. */
export async function currentDetails(handle: WorkflowHandle): Promise<string | undefined> {
  const metadata = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
  return metadata.currentDetails;
}
