import type { Duration } from '@temporalio/common';
import { createLogger, loadConfig, type Config, type Logger } from 'billflow';
import { startReceiver, type RunningReceiver } from 'billflow/receiver';
import { routes } from './routes';

/** billflow's receiver with this project's routes. */
export function startAppReceiver(config: Config, logger: Logger, options: { winBackDelay?: Duration } = {}): Promise<RunningReceiver> {
  return startReceiver(config, logger, { routes: routes(options) });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, pretty: false });
  const receiver = await startAppReceiver(config, logger);
  logger.info({ url: receiver.url }, 'receiver listening');
  const signal = await new Promise<string>((resolve) => ['SIGINT', 'SIGTERM'].forEach((name) => process.once(name, () => resolve(name))));
  logger.info({ signal }, 'stopping: answering the webhooks in flight');
  await receiver.close();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
