import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from 'pino';

let installed = false;

/** The webpack statistics the SDK logs at info after bundling the workflows: build detail, not news. */
const webpackStats = /\bwebpack [\d.]+ compiled\b/;

export interface TemporalRuntimeOptions {
  /** `host:port` where the SDK serves its Prometheus metrics (`/metrics`); none when absent. */
  metricsBindAddress?: string;
}

/**
 * Routes the Temporal SDK's own logs (worker, workflows' `log`, activities' `log`) into billflow's
 * logger, so one stream carries everything, and exports the SDK's metrics when asked. The SDK's
 * runtime is process-wide and can be installed once, before the first worker: later calls are
 * ignored, so a process that wants metrics calls this before it starts its worker.
 */
export function routeTemporalLogs(logger: Logger, options: TemporalRuntimeOptions = {}): void {
  if (installed) return;
  installed = true;
  const temporalLogger = logger.child({ component: 'temporal' });
  const level = logger.isLevelEnabled('debug') ? 'DEBUG' : logger.isLevelEnabled('info') ? 'INFO' : 'WARN';
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }: LogEntry) => {
      let method: 'trace' | 'debug' | 'info' | 'warn' | 'error' = entryLevel === 'TRACE' ? 'trace' : (entryLevel.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      if (method === 'info' && webpackStats.test(message)) method = 'debug';
      temporalLogger[method](meta ?? {}, message);
    }),
    ...(options.metricsBindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.metricsBindAddress } } } } : {}),
  });
}
