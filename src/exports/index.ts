/**
 * `billflow`: what both of your processes need — the configuration (validated from the
 * environment), the logger, and the normalised event types. The receiver, the worker, the
 * workflows, the workflow building blocks and the testing helpers are the subpaths
 * `billflow/receiver`, `billflow/worker`, `billflow/workflows`, `billflow/workflow` and
 * `billflow/testing`.
 *
 * @module
 */
export { ConfigError, loadConfig, type Config } from '../config';
export { createLogger, type LoggerOptions } from '../logger';
export type { Logger } from 'pino';
export { billingEventKinds, type BillingEvent, type BillingEventKind, type BillingReferences, type ProviderName } from '../core/events';
export { providerNames } from '../providers/registry';
export type { WorkflowRouteEntry } from '../workflow-routes';
export { startTracing, type Tracing, type TracingOptions } from '../tracing/start';
