/*
 * A billflow worker in a process of its own, for tests that kill it: configured from the
 * environment like `billflow worker`, with the account store in BILLFLOW_DATA_DIR. Prints
 * "worker ready" once polling and stops cleanly on SIGTERM.
 */
import pino from 'pino';
import { AccountStore } from '../../../src/store/account-store';
import { openDatabase } from '../../../src/store/database';
import { loadConfig } from '../../../src/config';
import { startWorker } from '../../../src/temporal/worker';
import { activitiesFor } from './worker-activities';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const database = await openDatabase({ dataDir: config.dataDir });
  const worker = await startWorker(config, activitiesFor(config, new AccountStore(database)), pino({ level: 'warn' }));
  process.once('SIGTERM', () => void worker.shutdown());
  console.log('worker ready');
  await worker.running;
  await database.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
