/**
 * `billflow/worker`: billflow's activities (`createBillflowActivities`, from the config and the
 * account store) to spread next to yours, and a worker that runs your workflows file or prebuilt
 * bundle with them (`startWorkerProcess`, or `startWorker` for a store and activities you wire
 * yourself). `bundleWorkflows` builds the bundle at build time.
 *
 * @module
 */
export { createBillflowActivities, defaultWorkerMetricsPort, startWorkerProcess, type RunningWorker, type WorkerProcessOptions } from '../run/worker';
export {
  billflowWorkflowBundlePath,
  billflowWorkflowsPath,
  startWorker,
  type BillflowWorker,
  type StartWorkerOptions,
  type WorkflowCode,
} from '../temporal/worker';
export { bundleWorkflows } from '../temporal/workflow-bundle';
export { ensureSearchAttributes } from '../temporal/search-attributes';
export { AccountStore } from '../store/account-store';
export { DeadLetterStore, deadLetterKinds, type DeadLetterInput, type DeadLetterKind } from '../store/dead-letter-store';
export { openDatabase, type Database } from '../store/database';
export type { Activities } from '../../activities';
