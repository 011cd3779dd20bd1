// The crash test: a provider-like sender delivers webhooks (duplicates, shuffled) while the Temporal
// server (the dev server, or the real one on PostgreSQL) and the worker are SIGKILLed and restarted;
// then every event, effect and final state is checked, and forged requests are thrown at a receiver.
import path from 'node:path';
import { AccountStore } from '../src/store/account-store';
import { openDatabase } from '../src/store/database';
import { getFreePort } from '../src/free-port';
import type { ChildProcess } from 'node:child_process';
import type { TemporalServerBuild } from '../src/temporal/server-binary';
import { dropTemporalDatabases, setupTemporalDatabases, startTemporalServer, type PostgresTarget, type TemporalServerPorts } from '../src/temporal/temporal-server';
import { keepAliveAgent } from '../bench/lib/load';
import { delay } from '../bench/lib/processes';
import { describeSender, sendLikeProvider, type SenderStats } from '../bench/lib/sender';
import {
  billflowEnvironment,
  connectClient,
  scratchDirectory,
  startProviderSandbox,
  startReceiverChild,
  startTemporal,
  startWorkerChild,
  uniqueTaskQueue,
  type ReceiverChild,
  type WorkerChild,
} from '../bench/lib/stack';
import { seededRandom } from '../bench/lib/webhooks';
import { workerQuiet } from '../bench/lib/workflows';
import { fuzzReceiver, type FuzzReport } from './fuzz';
import { buildScenario, seedSandbox, type Scenario } from './scenario';
import { observe, unfinished, verify, type Observed, type Verdict } from './verify';

export interface ChaosOptions {
  webhooks: number;
  duplicateShare: number;
  maxBatch: number;
  stripeShare: number;
  concurrency: number;
  workerKills: number;
  temporalKills: number;
  /** Forged and fuzzed requests thrown at a receiver afterwards; 0 skips them. */
  fuzzRequests: number;
  seed: number;
  /** Everything (sending, draining, checking) must finish within this; the run fails otherwise. */
  timeLimitMs: number;
  cliPath?: string;
  /** Crash the real Temporal server on this PostgreSQL instead of a dev server. */
  realServer?: { build: TemporalServerBuild; postgres: PostgresTarget };
  log: (line: string) => void;
}

/** The server the crash test kills and restarts on the same address, its state kept. */
interface CrashableTemporal {
  address: string;
  process: ChildProcess;
  kill(): void;
  stop(): Promise<void>;
}

export interface ChaosReport {
  sender: SenderStats;
  verdict: Verdict;
  fuzz?: FuzzReport;
  faults: string[];
  unexpectedWorkerExits: number;
  elapsedMs: number;
  /** The counts line: sent, 2xx, 503, retried, applied, duplicates suppressed, lost. */
  counts: string;
  passed: boolean;
}

/** The workflows' activities' start-to-close timeout: how long a task lost with a killed worker waits. */
const activityTimeoutMs = 32_000;

interface Fault {
  /** Share of deliveries answered 2xx when it strikes. */
  at: number;
  target: 'worker' | 'temporal';
}

/** Kills spread over the sending, the two kinds interleaved. */
function faultPlan(workerKills: number, temporalKills: number): Fault[] {
  const kinds: Fault['target'][] = [];
  for (let i = 0; i < Math.max(workerKills, temporalKills); i += 1) {
    if (i < workerKills) kinds.push('worker');
    if (i < temporalKills) kinds.push('temporal');
  }
  return kinds.map((target, index) => ({ target, at: (index + 1) / (kinds.length + 1) }));
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const deadline = started + options.timeLimitMs;
  const log = options.log;
  const scratch = await scratchDirectory('chaos');
  const dbFile = path.join(scratch.dir, 'temporal.db');
  const port = await getFreePort();
  // WAL with synchronous=NORMAL: a commit survives the server's SIGKILL (it is in the OS's hands), just
  // not a power cut; the default rollback journal fsyncs so often that a loaded machine times it out.
  const sqlitePragmas = ['journal_mode=wal', 'synchronous=normal'];
  const temporalLog = path.join(scratch.dir, 'temporal.log');
  const startServer = options.realServer
    ? await realServerStarter(options.realServer, path.join(scratch.dir, 'temporal-server'), log)
    : { kind: 'Temporal dev server', start: () => startTemporal({ dbFile, port, cliPath: options.cliPath, logFile: temporalLog, sqlitePragmas }), cleanUp: async () => undefined };
  let temporal: CrashableTemporal = await startServer.start();
  const sandbox = await startProviderSandbox();
  const taskQueue = uniqueTaskQueue('chaos');
  const dataDir = path.join(scratch.dir, 'data');
  const env = billflowEnvironment({
    temporalAddress: temporal.address,
    taskQueue,
    sandbox,
    dataDir,
    extra: {
      // The sender repeats the very bytes it was given: Stripe's signed timestamps must stay valid.
      STRIPE_SIGNATURE_TOLERANCE_SECONDS: '86400',
      // One retry, a second after the failure, so that dunning acts within the run.
      BILLFLOW_DUNNING_SCHEDULE: '1s',
    },
  });
  const scenario: Scenario = buildScenario({
    webhooks: options.webhooks,
    duplicateShare: options.duplicateShare,
    maxBatch: options.maxBatch,
    stripeShare: options.stripeShare,
    random: seededRandom(options.seed),
  });
  seedSandbox(sandbox, scenario);
  log(
    `scenario: ${scenario.webhooks.length} deliveries (${scenario.duplicates} repeats), ${scenario.mandates.length} GoCardless mandates, ` +
      `${scenario.dunning.length} Stripe failed payments${scenario.dunning.length ? '' : ' (Stripe dunning not routed here)'}, ${[...scenario.expected.values()].reduce((sum, entry) => sum + entry.eventIds.size, 0)} events`,
  );

  const logs = (name: string) => path.join(scratch.dir, `${name}.log`);
  let workerStarts = 0;
  const startWorker = () => startWorkerChild(env, logs(`worker-${++workerStarts}`), { metrics: true });
  const [firstWorker, firstReceiver] = await Promise.all([startWorker(), startReceiverChild(env, logs('receiver'))]);
  let worker: WorkerChild = firstWorker;
  let unexpectedWorkerExits = 0;
  let expectingExit = false;
  const watch = (child: WorkerChild) =>
    void child.child.exited.then(({ code, signal }) => {
      if (!expectingExit) {
        unexpectedWorkerExits += 1;
        log(`worker exited on its own (${signal ?? code}); see ${child.child.logFile}`);
      }
    });
  watch(worker);
  let receiver: ReceiverChild | undefined = firstReceiver;
  const agent = keepAliveAgent(options.concurrency);
  const faults: string[] = [];
  let sender: SenderStats | undefined;
  let fuzz: FuzzReport | undefined;
  const client = await connectClient(temporal.address);
  let keep = true;
  try {
    const plan = faultPlan(options.workerKills, options.temporalKills);
    let accepted = 0;
    let lastShown = 0;
    const sending = sendLikeProvider(scenario.webhooks, {
      baseUrl: receiver.url,
      agent,
      concurrency: options.concurrency,
      initialBackoffMs: 250,
      maxBackoffMs: 4000,
      maxAttempts: 200,
      timeLimitMs: Math.max(10_000, deadline - Date.now() - 60_000),
      requestTimeoutMs: 15_000,
      onAnswer: (stats) => {
        accepted = stats.ok;
        if (stats.attempts - lastShown >= Math.max(500, scenario.webhooks.length / 10)) {
          lastShown = stats.attempts;
          log(`sender: ${describeSender(stats)}`);
        }
      },
    });
    let sendingDone = false;
    let lastWorkerKillAt = 0;
    void sending.finally(() => (sendingDone = true));

    for (const fault of plan) {
      while (!sendingDone && accepted < fault.at * scenario.webhooks.length) await delay(25);
      const when = `${accepted}/${scenario.webhooks.length} delivered`;
      if (fault.target === 'worker') {
        expectingExit = true;
        await worker.child.kill();
        expectingExit = false;
        await delay(500);
        const down = Date.now();
        worker = await startWorker();
        watch(worker);
        faults.push(`worker SIGKILLed at ${when}, polling again after ${((Date.now() - down) / 1000).toFixed(1)} s`);
      } else {
        const killed = temporal;
        const gone = new Promise((resolve) => killed.process.once('exit', resolve));
        killed.kill();
        await gone;
        await delay(1000);
        const down = Date.now();
        temporal = await startServer.start();
        faults.push(`${startServer.kind} SIGKILLed at ${when}, answering again after ${((Date.now() - down) / 1000).toFixed(1)} s (${((Date.now() - down) / 1000 + 1).toFixed(1)} s down)`);
      }
      log(faults.at(-1) as string);
      if (fault.target === 'worker') lastWorkerKillAt = Date.now();
    }
    const sent = await sending;
    sender = sent.stats;
    log(`sender: ${describeSender(sender)}`);

    // The forgeries go to a receiver of their own (own task queue) while the workflows drain.
    const fuzzing =
      options.fuzzRequests > 0
        ? fuzzReceiver({ temporalAddress: temporal.address, sandbox, requests: options.fuzzRequests, concurrency: options.concurrency, logFile: logs('fuzz-receiver'), seed: options.seed, log }).then(
            (report) => ({ report }),
            (error: unknown) => ({ error }),
          )
        : undefined;
    // Drain. An activity cut off by a worker kill is retried once its 30 s start-to-close timeout has
    // passed: wait for that, then for the worker to go quiet, then read every workflow once; read again
    // only those not finished yet.
    const sinceWorkerKill = Date.now() - lastWorkerKillAt;
    if (sinceWorkerKill < activityTimeoutMs) await delay(Math.min(activityTimeoutMs - sinceWorkerKill, Math.max(0, deadline - Date.now() - 60_000)));
    const observed: Observed = { facts: new Map(), states: new Map() };
    let pending: string[] = [...scenario.expected.keys()];
    for (let round = 1; pending.length > 0 && Date.now() < deadline - 30_000; round += 1) {
      // Reading thousands of workflows while the worker still works through its backlog slows both.
      const quiet = await workerQuiet(worker.metricsUrl as string, 3000, Math.max(1000, deadline - Date.now() - Math.min(120_000, options.timeLimitMs / 4)));
      if (!quiet) log('the worker is still busy; reading the workflows anyway');
      log(`reading ${pending.length} workflows (state and every run's history), round ${round}`);
      await observe(client, scenario, observed, pending, log);
      pending = unfinished(scenario, observed);
      if (pending.length > 0) log(`draining: ${pending.length} workflows still applying, e.g. ${pending.slice(0, 3).join(', ')}`);
    }

    await receiver.child.stop();
    receiver = undefined;
    expectingExit = true;
    await worker.child.stop();
    const database = await openDatabase({ dataDir });
    const store = new AccountStore(database);
    let verdict: Verdict;
    try {
      verdict = await verify(observed, scenario, (provider, customerId) => store.get(provider, customerId), sandbox, log);
    } finally {
      await database.close();
    }
    if (pending.length > 0) verdict.problems.unshift(`${pending.length} workflows had not applied every event by the time limit`);

    const fuzzed = await fuzzing;
    if (fuzzed && 'error' in fuzzed) throw fuzzed.error;
    fuzz = fuzzed?.report;

    const counts =
      `sent ${sender.webhooks} (${sender.attempts} requests), 2xx ${sender.ok}, 503 ${sender.status503}, other ${Object.values(sender.otherStatus).reduce((a, b) => a + b, 0)}, ` +
      `no answer ${sender.networkErrors}, retried ${sender.retried}, applied ${verdict.applied}/${verdict.events}, duplicates suppressed ${verdict.duplicatesSuppressed}, ` +
      `lost ${verdict.lost}, applied twice ${verdict.appliedTwice}, store effects ${verdict.storeEffects}, sandbox effects ${verdict.sandboxEffects}, failed workflow tasks ${verdict.workflowTaskFailures}`;
    const passed =
      verdict.problems.length === 0 &&
      verdict.lost === 0 &&
      sender.gaveUp === 0 &&
      unexpectedWorkerExits === 0 &&
      faults.length === options.workerKills + options.temporalKills &&
      (fuzz === undefined || fuzz.passed);
    keep = !passed;
    return { sender, verdict, fuzz, faults, unexpectedWorkerExits, elapsedMs: Date.now() - started, counts, passed };
  } finally {
    agent.destroy();
    await receiver?.child.stop();
    expectingExit = true;
    await worker.child.stop();
    await client.connection.close().catch(() => undefined);
    await sandbox.close();
    await temporal.stop();
    await startServer.cleanUp();
    if (keep) log(`logs and state kept in ${scratch.dir}`);
    else await scratch.remove();
  }
}

/** The real server on databases of its own, set up once; every start after the first comes back on the same ports. */
async function realServerStarter(real: NonNullable<ChaosOptions['realServer']>, dir: string, log: (line: string) => void) {
  const base = `billflow_chaos_${process.pid}`;
  const databases = { main: base, visibility: `${base}_visibility` };
  await setupTemporalDatabases({ ...real, databases, log });
  let ports: TemporalServerPorts | undefined;
  return {
    kind: 'Temporal server (PostgreSQL)',
    async start(): Promise<CrashableTemporal> {
      const server = await startTemporalServer({ ...real, databases, dir, ports });
      ports = server.ports;
      return server;
    },
    cleanUp: () => dropTemporalDatabases({ ...real, databases }).catch(() => undefined),
  };
}
