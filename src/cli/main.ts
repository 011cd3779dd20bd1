import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config';
import { createLogger } from '../logger';
import { startReceiver } from '../run/receiver';
import { startWorkerProcess } from '../run/worker';
import { findOrBuildTemporalCli } from '../temporal/cli-binary';
import { runDev } from './dev';

const program = new Command('billflow')
  .description('Billing-provider webhooks turned into durable business processes on Temporal')
  .showHelpAfterError();

program
  .command('dev')
  .description('Start everything locally: Temporal dev server + Web UI, provider sandbox, worker and receiver')
  .action(() => withConfig(true, (config, logger) => runDev(config, logger)));

program
  .command('receiver')
  .description('Run the webhook receiver alone (production)')
  .action(() =>
    withConfig(false, async (config, logger) => {
      const receiver = await startReceiver(config, logger);
      logger.info({ url: receiver.url }, 'receiver listening');
      await stopSignal();
      await receiver.close();
    }),
  );

program
  .command('worker')
  .description('Run the Temporal worker alone (production)')
  .action(() =>
    withConfig(false, async (config, logger) => {
      const worker = await startWorkerProcess(config, logger);
      await Promise.race([stopSignal(), worker.running]);
      await worker.close();
    }),
  );

program
  .command('temporal-cli')
  .description('Print the path of a Temporal CLI binary, building it from source once if none is found')
  .action(() =>
    withConfig(false, async (config) => {
      const cliPath = await findOrBuildTemporalCli({ configuredPath: config.temporal.cliPath, log: (line) => process.stderr.write(`${line}\n`) });
      process.stdout.write(`${cliPath}\n`);
    }),
  );

async function withConfig(pretty: boolean, run: (config: Config, logger: ReturnType<typeof createLogger>) => Promise<void>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, pretty });
  try {
    await run(config, logger);
  } catch (error) {
    logger.error({ err: error }, error instanceof Error ? error.message : 'failed');
    process.exitCode = 1;
  }
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
