// billflow's worker as `billflow worker` runs it (same config, same startWorkerProcess), in a child
// process the benchmarks and crash tests can SIGKILL; it answers their questions over IPC.
import { AccountStore } from '../../src/store/account-store';
import { openDatabase } from '../../src/store/database';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startWorkerProcess } from '../../src/run/worker';

interface Question {
  id: number;
  type: 'memory' | 'accountChanges';
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, pretty: false });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const worker = await startWorkerProcess(config, logger, { store: new AccountStore(database) });

  process.on('message', (question: Question) => {
    const answer = async (): Promise<unknown> => {
      if (question.type === 'memory') return process.memoryUsage();
      const [row] = await database.query<{ count: number }>('SELECT count(*)::int AS count FROM account_changes');
      return row?.count ?? 0;
    };
    answer().then(
      (value) => process.send?.({ id: question.id, type: question.type, value }),
      (error: unknown) => logger.error({ err: error }, 'could not answer the harness'),
    );
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void worker
      .close()
      .finally(() => database.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  process.send?.({ type: 'ready' });
  await worker.running;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
