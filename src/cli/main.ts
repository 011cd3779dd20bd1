import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config';
import { createLogger } from '../logger';
import { startReceiver } from '../run/receiver';
import { defaultWorkerMetricsPort, startWorkerProcess } from '../run/worker';
import { findOrBuildTemporalCli } from '../temporal/cli-binary';
import { runDev } from './dev';
import { stopSignal } from './signals';
import { triggerCommand } from './trigger';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const program = new Command('billflow')
  .description('Billing-provider webhooks turned into durable business processes on Temporal')
  .showHelpAfterError();

program
  .command('dev')
  .description('Start everything locally: Temporal dev server + Web UI, provider sandbox, worker and receiver')
  .action(() => withConfig(true, (config, logger) => runDev(config, logger)));

program
  .command('receiver')
  .description('Run the webhook receiver alone (production); SIGTERM drains the webhooks in flight, then exits')
  .action(() =>
    withConfig(false, async (config, logger) => {
      const receiver = await startReceiver(config, logger);
      logger.info({ url: receiver.url }, 'receiver listening');
      const signal = await stopSignal();
      logger.info({ signal }, 'stopping: no new connections, answering the webhooks in flight');
      const drainTimeoutMs = config.receiver.shutdownTimeoutMs;
      const drained = await Promise.race([receiver.close().then(() => true), delay(drainTimeoutMs).then(() => false)]);
      if (!drained) {
        // Unanswered deliveries are retried by their providers; a half-answered one is never sent.
        logger.warn({ afterMs: drainTimeoutMs }, 'webhooks still in flight: exiting without answering them');
        process.exit(1);
      }
      logger.info('receiver stopped');
    }),
  );

program
  .command('worker')
  .description('Run the Temporal worker alone (production); SIGTERM lets running tasks finish, then exits')
  .action(() =>
    withConfig(false, async (config, logger) => {
      const worker = await startWorkerProcess({ ...config, workerMetricsPort: config.workerMetricsPort ?? defaultWorkerMetricsPort }, logger);
      const signal = await Promise.race([stopSignal(), worker.running]);
      if (signal) logger.info({ signal }, 'stopping: finishing the tasks in progress');
      await worker.close();
      logger.info('worker stopped');
    }),
  );

program.addCommand(triggerCommand(() => configOrExit()));

program
  .command('temporal-cli')
  .description('Print the path of a Temporal CLI binary, building it from source once if none is found')
  .action(() =>
    withConfig(false, async (config) => {
      const cliPath = await findOrBuildTemporalCli({ configuredPath: config.temporal.cliPath, log: (line) => process.stderr.write(`${line}\n`) });
      process.stdout.write(`${cliPath}\n`);
    }),
  );

/** The validated config, or a message naming every bad variable and exit code 2. */
function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function withConfig(pretty: boolean, run: (config: Config, logger: ReturnType<typeof createLogger>) => Promise<void>): Promise<void> {
  const config = configOrExit();
  const logger = createLogger({ level: config.logLevel, pretty });
  try {
    await run(config, logger);
  } catch (error) {
    logger.error({ err: error }, error instanceof Error ? error.message : 'failed');
    process.exitCode = 1;
  }
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
