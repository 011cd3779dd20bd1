import { existsSync } from 'node:fs';
import path from 'node:path';
import { createLogger, loadConfig, type Config, type Logger } from 'billflow';
import { startWorkerProcess, type RunningWorker, type WorkflowCode } from 'billflow/worker';
import { createWinBackActivities, type WinBackOffer } from './win-back/activities';

/** Built by `npm run build` next to the compiled worker; from the sources (tsx) there is none. */
const workflowBundlePath = path.join(__dirname, 'workflow-bundle.js');

/** This project's workflow code: the prebuilt bundle when there is one, else the workflows file, bundled at start. */
export function workflowCode(): WorkflowCode {
  if (existsSync(workflowBundlePath)) return { workflowBundle: { codePath: workflowBundlePath } };
  return { workflowsPath: require.resolve('./workflows') };
}

/**
 * billflow's worker with this project's workflows and activities next to billflow's. `send` is
 * where a win-back offer goes: your mailer or CRM (here, by default, a log line).
 */
export function startAppWorker(config: Config, logger: Logger, options: { send?: (offer: WinBackOffer) => Promise<void> } = {}): Promise<RunningWorker> {
  const send = options.send ?? (async (offer: WinBackOffer) => void logger.info({ offer }, 'win-back offer to send'));
  return startWorkerProcess(config, logger, { ...workflowCode(), activities: createWinBackActivities(send) });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, pretty: false });
  const worker = await startAppWorker(config, logger);
  const signal = await Promise.race([
    new Promise<string>((resolve) => ['SIGINT', 'SIGTERM'].forEach((name) => process.once(name, () => resolve(name)))),
    worker.running.then(() => undefined),
  ]);
  if (signal) logger.info({ signal }, 'stopping: finishing the tasks in progress');
  await worker.close();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
