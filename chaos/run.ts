// The crash test: a provider-like sender delivers webhooks (duplicates, shuffled) over billflow's
// receivers while receivers, workers, the Temporal server (the dev server, or the real one on
// PostgreSQL) and that PostgreSQL are SIGKILLed or restarted; then every event, effect and final
// state is checked, and forged requests are thrown at a receiver.
import path from 'node:path';
import { AccountStore } from '../src/store/account-store';
import { openDatabase } from '../src/store/database';
import { getFreePort } from '../src/free-port';
import type { TemporalServerBuild } from '../src/temporal/server-binary';
import type { PostgresTarget } from '../src/temporal/temporal-server';
import { keepAliveAgent } from '../bench/lib/load';
import { delay, type Child } from '../bench/lib/processes';
import { describeSender, sendLikeProvider, type SenderStats } from '../bench/lib/sender';
import {
  billflowEnvironment,
  connectClient,
  scratchDirectory,
  startProviderSandbox,
  startReceiverChild,
  startWorkerChild,
  uniqueTaskQueue,
  type ReceiverChild,
  type WorkerChild,
} from '../bench/lib/stack';
import { seededRandom } from '../bench/lib/webhooks';
import { workerQuiet } from '../bench/lib/workflows';
import { faultPlan, type FaultCounts } from './faults';
import { fuzzReceiver, type FuzzReport } from './fuzz';
import { buildScenario, seedSandbox, type Scenario } from './scenario';
import { temporalTarget, type CrashableTemporal } from './temporal-target';
import { observe, unfinished, verify, type Observed, type Verdict } from './verify';

export interface ChaosOptions extends FaultCounts {
  webhooks: number;
  duplicateShare: number;
  maxBatch: number;
  stripeShare: number;
  concurrency: number;
  /** billflow's receivers, each a process of its own; the sender spreads its deliveries over them (default 1). */
  receivers?: number;
  /** billflow's workers on the one task queue, each a process of its own (default 1). */
  workers?: number;
  /** Forged and fuzzed requests thrown at a receiver afterwards; 0 skips them. */
  fuzzRequests: number;
  seed: number;
  /** Everything (sending, draining, checking) must finish within this; the run fails otherwise. */
  timeLimitMs: number;
  cliPath?: string;
  /**
   * Where Temporal runs: by default a dev server of the run's own. `real`: the real server, on
   * `postgres` or, without it, on a PostgreSQL cluster of the run's own (which `postgresRestarts`
   * restarts). `external`: a server already running (the test suite's), never killed.
   */
  temporal?: { kind: 'real'; build: TemporalServerBuild; postgres?: PostgresTarget } | { kind: 'external'; address: string };
  /**
   * The account store the workers share (PostgreSQL). Default: a database on the run's own
   * PostgreSQL when there is one, else the embedded store, which only one worker can open.
   */
  databaseUrl?: string;
  log: (line: string) => void;
}

export interface ChaosReport {
  sender: SenderStats;
  verdict: Verdict;
  fuzz?: FuzzReport;
  faults: string[];
  /** billflow processes or Temporal servers that exited without being killed. */
  unexpectedExits: number;
  elapsedMs: number;
  /** The counts line: sent, 2xx, 503, retried, applied, duplicates suppressed, lost. */
  counts: string;
  passed: boolean;
}

/** The workflows' activities' start-to-close timeout: how long a task lost with a killed worker waits. */
const activityTimeoutMs = 32_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const deadline = started + options.timeLimitMs;
  const log = options.log;
  const receiverCount = options.receivers ?? 1;
  const workerCount = options.workers ?? 1;
  const plan = faultPlan(options);
  const scratch = await scratchDirectory('chaos');
  const target = await temporalTarget(
    options.temporal?.kind === 'external'
      ? options.temporal
      : options.temporal?.kind === 'real'
        ? { ...options.temporal, dir: scratch.dir }
        : { kind: 'dev', dir: scratch.dir, cliPath: options.cliPath },
    log,
  );
  if (options.temporalKills > 0 && !target.crashable) throw new Error(`temporalKills needs a Temporal server of the run's own, not the ${target.kind}`);
  if ((options.postgresRestarts ?? 0) > 0 && !target.postgres) throw new Error('postgresRestarts needs the real Temporal server on a PostgreSQL of the run’s own');
  const databaseUrl = options.databaseUrl ?? (await target.postgres?.createDatabase('billflow_accounts'));
  if (workerCount > 1 && !databaseUrl) throw new Error('Several workers share the account store: give them a PostgreSQL one (databaseUrl)');

  let unexpectedExits = 0;
  const killed = new WeakSet<object>();
  const watch = (name: string, exited: Promise<unknown>, self: object, logFile?: string) =>
    void exited.then(() => {
      if (killed.has(self)) return;
      unexpectedExits += 1;
      log(`${name} exited on its own${logFile ? `; see ${logFile}` : ''}`);
    });
  const startTemporal = async () => {
    const server = await target.start();
    watch(target.kind, server.exited, server);
    return server;
  };
  let temporal: CrashableTemporal = await startTemporal();
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
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
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
      `${scenario.dunning.length} Stripe failed payments${scenario.dunning.length ? '' : ' (Stripe dunning not routed here)'}, ${[...scenario.expected.values()].reduce((sum, entry) => sum + entry.eventIds.size, 0)} events; ` +
      `${receiverCount} receiver(s), ${workerCount} worker(s) on ${target.kind}, account store ${databaseUrl ? 'PostgreSQL' : 'embedded'}`,
  );

  const logs = (name: string) => path.join(scratch.dir, `${name}.log`);
  let workerStarts = 0;
  const startWorker = async () => {
    const worker = await startWorkerChild(env, logs(`worker-${++workerStarts}`), { metrics: true });
    watch('a worker', worker.child.exited, worker.child, worker.child.logFile);
    return worker;
  };
  // Each receiver keeps its port across restarts, as behind a load balancer's fixed backends.
  const receiverPorts = await Promise.all(Array.from({ length: receiverCount }, () => getFreePort()));
  let receiverStarts = 0;
  const startReceiver = async (index: number) => {
    const receiver = await startReceiverChild({ ...env, PORT: String(receiverPorts[index]) }, logs(`receiver-${index + 1}-${++receiverStarts}`));
    watch('a receiver', receiver.child.exited, receiver.child, receiver.child.logFile);
    return receiver;
  };
  const workers: WorkerChild[] = await Promise.all(Array.from({ length: workerCount }, () => startWorker()));
  const receivers: (ReceiverChild | undefined)[] = await Promise.all(receiverPorts.map((_, index) => startReceiver(index)));
  const stopChild = async (child: Child | undefined, how: 'kill' | 'stop') => {
    if (!child) return;
    killed.add(child);
    await (how === 'kill' ? child.kill() : child.stop());
  };
  // As a supervisor (systemd, Kubernetes, Compose's restart policy) does: a process that fails to
  // start (a worker whose account store is restarting) is started again, a second later.
  const supervised = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await start();
      } catch (error) {
        if (attempt >= 30 || Date.now() > deadline) throw error;
        log(`${name} did not start (${(error as Error).message}); starting it again`);
        await delay(1000);
      }
    }
  };
  const agent = keepAliveAgent(options.concurrency);
  const faults: string[] = [];
  let sender: SenderStats | undefined;
  let fuzz: FuzzReport | undefined;
  const client = await connectClient(temporal.address);
  let keep = true;
  try {
    let accepted = 0;
    let lastShown = 0;
    const sending = sendLikeProvider(scenario.webhooks, {
      baseUrl: receiverPorts.map((port) => `http://127.0.0.1:${port}`),
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

    const struck: Record<string, number> = {};
    const restarting: Record<string, Promise<void>> = {};
    for (const fault of plan) {
      while (!sendingDone && accepted < fault.at * scenario.webhooks.length) await delay(25);
      const when = `${accepted}/${scenario.webhooks.length} delivered`;
      const index = struck[fault.target] ?? 0;
      struck[fault.target] = index + 1;
      const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
      // A killed worker or receiver comes back in the background, as under a supervisor: the next
      // fault strikes on schedule, while the sender goes on with the processes still up.
      if (fault.target === 'worker') {
        const slot = index % workers.length;
        await restarting[`worker ${slot}`];
        await stopChild(workers[slot]?.child, 'kill');
        const killedAt = Date.now();
        restarting[`worker ${slot}`] = delay(500).then(async () => {
          workers[slot] = await supervised('worker', startWorker);
          lastWorkerKillAt = Date.now();
          log(`worker ${slot + 1} polling again ${seconds(killedAt)} s after its SIGKILL`);
        });
        faults.push(`worker ${slot + 1}/${workers.length} SIGKILLed at ${when}`);
      } else if (fault.target === 'receiver') {
        const slot = index % receivers.length;
        await restarting[`receiver ${slot}`];
        await stopChild(receivers[slot]?.child, 'kill');
        receivers[slot] = undefined;
        const killedAt = Date.now();
        restarting[`receiver ${slot}`] = delay(500).then(async () => {
          receivers[slot] = await supervised('receiver', () => startReceiver(slot));
          log(`receiver ${slot + 1} answering again on its port ${seconds(killedAt)} s after its SIGKILL`);
        });
        faults.push(`receiver ${slot + 1}/${receivers.length} SIGKILLed at ${when}`);
      } else if (fault.target === 'temporal') {
        killed.add(temporal);
        await temporal.kill();
        await delay(1000);
        const down = Date.now();
        temporal = await startTemporal();
        faults.push(`${target.kind} SIGKILLed at ${when}, answering again after ${seconds(down)} s (${(Number(seconds(down)) + 1).toFixed(1)} s down)`);
      } else {
        const down = Date.now();
        await target.postgres?.restart();
        faults.push(`PostgreSQL (private: Temporal's databases and the account store) stopped in immediate mode (a crash) at ${when} and started again after ${seconds(down)} s`);
      }
      // Handled here so that a failed restart waits for the await after the sending instead of crashing the run.
      for (const restart of Object.values(restarting)) restart.catch(() => undefined);
      log(faults.at(-1) as string);
    }
    const sent = await sending;
    sender = sent.stats;
    await Promise.all(Object.values(restarting));
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
    // passed: wait for that, then for the workers to go quiet, then read every workflow once; read
    // again only those not finished yet.
    const sinceWorkerKill = Date.now() - lastWorkerKillAt;
    if (sinceWorkerKill < activityTimeoutMs) await delay(Math.min(activityTimeoutMs - sinceWorkerKill, Math.max(0, deadline - Date.now() - 60_000)));
    const observed: Observed = { facts: new Map(), states: new Map() };
    let pending: string[] = [...scenario.expected.keys()];
    for (let round = 1; pending.length > 0 && Date.now() < deadline - 30_000; round += 1) {
      // Reading thousands of workflows while the workers still work through their backlog slows all.
      const waitLimit = Math.max(1000, deadline - Date.now() - Math.min(120_000, options.timeLimitMs / 4));
      for (const worker of workers) {
        if (!(await workerQuiet(worker.metricsUrl as string, 3000, waitLimit))) log('a worker is still busy; reading the workflows anyway');
      }
      log(`reading ${pending.length} workflows (state and every run's history), round ${round}`);
      await observe(client, scenario, observed, pending, log);
      pending = unfinished(scenario, observed);
      if (pending.length > 0) log(`draining: ${pending.length} workflows still applying, e.g. ${pending.slice(0, 3).join(', ')}`);
    }

    for (const receiver of receivers) await stopChild(receiver?.child, 'stop');
    receivers.fill(undefined);
    for (const worker of workers) await stopChild(worker.child, 'stop');
    const database = await openDatabase(databaseUrl ? { databaseUrl } : { dataDir });
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
      unexpectedExits === 0 &&
      faults.length === plan.length &&
      (fuzz === undefined || fuzz.passed);
    keep = !passed;
    return { sender, verdict, fuzz, faults, unexpectedExits, elapsedMs: Date.now() - started, counts, passed };
  } finally {
    agent.destroy();
    for (const receiver of receivers) await stopChild(receiver?.child, 'stop');
    for (const worker of workers) await stopChild(worker.child, 'stop');
    await client.connection.close().catch(() => undefined);
    await sandbox.close();
    killed.add(temporal);
    await temporal.stop();
    await target.cleanUp();
    if (keep) log(`logs and state kept in ${scratch.dir}`);
    else await scratch.remove();
  }
}
