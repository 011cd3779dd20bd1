/**
 * `billflow/receiver`: the webhook receiver, as a Koa app of its own (`createReceiverApp`,
 * `startReceiver`) or as a router to mount in your Koa server (`createReceiverRouter`), built from
 * the config and the routes of your workflows.
 *
 * @module
 */
export { createReceiverApp, createReceiverRouter, type ReceiverDeps } from '../receiver/app';
export type { ReceiverState } from '../receiver/errors';
export { startReceiver, type ReceiverOptions, type RunningReceiver } from '../run/receiver';
export { ReceiverMetrics } from '../metrics';
export { routeEvents, type WorkflowRoute } from '../routing';
export type { WorkflowRouteEntry } from '../workflow-routes';
