import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from 'pino';

let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker, workflows' `log`, activities' `log`) into billflow's
 * logger, so one stream carries everything. The SDK's runtime is process-wide and can be installed
 * once, before the first worker: later calls are ignored.
 */
export function routeTemporalLogs(logger: Logger): void {
  if (installed) return;
  installed = true;
  const temporalLogger = logger.child({ component: 'temporal' });
  const level = logger.isLevelEnabled('debug') ? 'DEBUG' : logger.isLevelEnabled('info') ? 'INFO' : 'WARN';
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }: LogEntry) => {
      const method = entryLevel === 'TRACE' ? 'trace' : (entryLevel.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      temporalLogger[method](meta ?? {}, message);
    }),
  });
}
