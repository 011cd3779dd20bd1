import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config';
import { createLogger } from '../logger';
import { startReceiver } from '../run/receiver';
import { defaultWorkerMetricsPort, startWorkerProcess } from '../run/worker';
import { deliveriesCommand } from './deliveries';
import { stopSignal } from './signals';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const program = new Command('billflow')
  .description('Billing-provider webhooks turned into durable business processes on Temporal')
  .showHelpAfterError();

program
  .command('dev')
  .description('Start everything locally: Temporal dev server + Web UI, provider sandbox, worker and receiver')
  .action(() => withConfig(true, async (config, logger) => developmentModule('dev', () => require('./dev') as typeof import('./dev')).runDev(config, logger)));

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
      // Listened for before the start, which goes on after `worker polling` (catch-up's workflows):
      // a SIGTERM in that time is a graceful stop too, and says so.
      const stopping = stopSignal();
      const worker = await startWorkerProcess({ ...config, workerMetricsPort: config.workerMetricsPort ?? defaultWorkerMetricsPort }, logger);
      const signal = await Promise.race([stopping, worker.running]);
      if (signal) logger.info({ signal }, 'stopping: finishing the tasks in progress');
      await worker.close();
      logger.info('worker stopped');
    }),
  );

// Its options and help live with the webhook templates, loaded only when it runs: the module
// parses the arguments itself, `--help` included.
program
  .command('trigger')
  .description('Build a realistic webhook for a provider event, sign it as the provider would, and post it to a receiver')
  .argument('[arguments...]', 'see `billflow trigger --help`')
  .helpOption(false)
  .allowUnknownOption()
  .action(async (args: string[]) => {
    const { triggerCommand } = developmentModule('trigger', () => require('./trigger') as typeof import('./trigger'));
    await new Command('billflow').addCommand(triggerCommand(() => configOrExit())).parseAsync(['trigger', ...args], { from: 'user' });
  });

program.addCommand(deliveriesCommand(() => configOrExit()));

program
  .command('temporal-cli')
  .description('Print the path of a Temporal CLI binary, building it from source once if none is found')
  .action(() =>
    withConfig(false, async (config) => {
      const { findOrBuildTemporalCli } = developmentModule('temporal-cli', () => require('../temporal/cli-binary') as typeof import('../temporal/cli-binary'));
      const cliPath = await findOrBuildTemporalCli({ configuredPath: config.temporal.cliPath, log: (line) => process.stderr.write(`${line}\n`) });
      process.stdout.write(`${cliPath}\n`);
    }),
  );

program
  .command('stripe-mock')
  .description("Print the path of stripe-mock (Stripe's API mock, for the tests), building it from source once if none is cached")
  .action(async () => {
    const { findOrBuildStripeMock } = developmentModule('stripe-mock', () => require('../testing/stripe-mock') as typeof import('../testing/stripe-mock'));
    const binary = await findOrBuildStripeMock({ log: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(`${binary}\n`);
  });

program
  .command('temporal-server')
  .description('Print the path of a Temporal server binary (with temporal-sql-tool and the PostgreSQL schema beside it, and the Web UI server), building them from source once if none is cached')
  .action(() =>
    withConfig(false, async () => {
      const { findOrBuildTemporalServer, findOrBuildTemporalUiServer } = developmentModule('temporal-server', () => require('../temporal/server-binary') as typeof import('../temporal/server-binary'));
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const build = await findOrBuildTemporalServer({ log });
      // The Web UI in front of it, for the browser test.
      await findOrBuildTemporalUiServer({ log });
      process.stdout.write(`${build.server}\n`);
    }),
  );

/**
 * A development command's module (dev server, sandbox, test webhooks, CLI build), loaded when the
 * command runs. The production image leaves these out; there the command says so and exits 1.
 * `require`, not `import()`: the bin shim loads the sources through tsx's CommonJS hook only.
 */
function developmentModule<T>(command: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND') throw error;
    process.stderr.write(
      `billflow ${command} is a development command, and this installation leaves out what it needs (the production image ships the receiver and the worker only): ${(error as Error).message.split('\n')[0]}\n`,
    );
    process.exit(1);
  }
}

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
