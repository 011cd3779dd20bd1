// `npm run chaos`: the full crash test (10,000 deliveries, 2 worker and 2 Temporal SIGKILLs, 100,000 forgeries).
// `npm run chaos -- --webhooks 500 --fuzz 2000` for a short one. `--server real` runs it on the real
// Temporal server on a PostgreSQL of its own, which it also restarts; `--server dev,real` runs the dev
// server's and the real server's one after the other, for figures side by side.
import { parseArgs } from 'node:util';
import { readOptions } from '../bench/lib/report';
import type { BenchServer } from '../bench/lib/temporal';
import { describeSender } from '../bench/lib/sender';
import { findOrBuildTemporalServer } from '../src/temporal/server-binary';
import { describeFuzz } from './fuzz';
import { runChaos, type ChaosReport } from './run';

const topology = {
  receivers: { type: 'string', default: '1' },
  workers: { type: 'string', default: '1' },
  'receiver-kills': { type: 'string', default: '0' },
  'postgres-restarts': { type: 'string', default: '1' },
} as const;
const topologyHelp = [
  '  --receivers <n>         receiver processes the sender spreads over (default 1)',
  '  --workers <n>           worker processes; more than one share the account store on PostgreSQL (real only)',
  '  --receiver-kills <n>    receiver SIGKILLs (default 0)',
  '  --postgres-restarts <n> crash-restarts of the private PostgreSQL, real server only (default 1)',
];

/** Takes the crash test's own options out of argv; the rest are the benchmarks' numeric ones. */
function splitArguments(argv: string[]) {
  const { tokens } = parseArgs({ args: argv, options: topology, strict: false, tokens: true });
  const ours = new Set(Object.keys(topology));
  const rest: string[] = [];
  const values: Record<string, string> = Object.fromEntries(Object.entries(topology).map(([name, spec]) => [name, spec.default]));
  for (const token of tokens) {
    if (token.kind === 'option' && ours.has(token.name)) {
      if (token.value === undefined) throw new Error(`--${token.name} needs a value`);
      values[token.name] = token.value;
    } else if (token.kind === 'option') rest.push(token.inlineValue ? `${token.rawName}=${token.value}` : token.rawName);
    else if (token.kind === 'positional') rest.push(token.value);
  }
  if (rest.includes('--help')) process.stdout.write(`Crash test options:\n${topologyHelp.join('\n')}\n`);
  const count = (name: string) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
    return value;
  };
  return { rest, receivers: count('receivers') || 1, workers: count('workers') || 1, receiverKills: count('receiver-kills'), postgresRestarts: count('postgres-restarts') };
}

// `npm run chaos -- catch-up …`: the lost-webhooks scenario instead (chaos/catch-up.ts, its own options).
const catchUp = process.argv[2] === 'catch-up';
const args = splitArguments(catchUp ? [] : process.argv.slice(2));
const options = readOptions(args.rest, {
  webhooks: { quick: 10_000, full: 10_000, help: 'deliveries, repeats included' },
  fuzz: { quick: 100_000, full: 100_000, help: 'forged and fuzzed requests afterwards' },
  concurrency: { quick: 16, full: 16, help: 'deliveries in flight' },
  'worker-kills': { quick: 2, full: 2, help: 'worker SIGKILLs' },
  'temporal-kills': { quick: 2, full: 2, help: 'Temporal server SIGKILLs' },
  minutes: { quick: 40, full: 40, help: 'time limit' },
  seed: { quick: 42, full: 42, help: 'seed of the scenario' },
});

async function runOn(server: BenchServer): Promise<ChaosReport> {
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`  · [${server} ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const build = server === 'real' ? await findOrBuildTemporalServer({ log }) : undefined;
  if (args.workers > 1 && !build) throw new Error('--workers above 1 needs --server real (the workers share the account store on its PostgreSQL)');
  const report = await runChaos({
    webhooks: options.webhooks,
    duplicateShare: 0.1,
    maxBatch: 3,
    stripeShare: 0.1,
    concurrency: options.concurrency,
    receivers: args.receivers,
    workers: args.workers,
    workerKills: options['worker-kills'],
    receiverKills: args.receiverKills,
    temporalKills: options['temporal-kills'],
    postgresRestarts: build ? args.postgresRestarts : 0,
    fuzzRequests: options.fuzz,
    seed: options.seed,
    timeLimitMs: options.minutes * 60_000,
    temporal: build ? { kind: 'real', build } : undefined,
    log,
  });
  const out = (line: string) => process.stdout.write(`[${server}] ${line}\n`);
  out(`faults: ${report.faults.join('; ')}${report.unexpectedExits ? `; ${report.unexpectedExits} unexpected exits` : ''}`);
  out(`sender: ${describeSender(report.sender)}`);
  if (report.fuzz) out(`fuzz: ${describeFuzz(report.fuzz)}`);
  for (const problem of report.verdict.problems) out(`PROBLEM: ${problem}`);
  out(`chaos ${report.passed ? 'passed' : 'FAILED'} in ${(report.elapsedMs / 1000).toFixed(0)} s: ${report.counts}`);
  return report;
}

async function main(): Promise<void> {
  let passed = true;
  for (const server of options.servers) passed = (await runOn(server)).passed && passed;
  process.exitCode = passed ? 0 : 1;
}

(catchUp ? import('./catch-up').then(({ runCatchUpChaos }) => runCatchUpChaos(process.argv.slice(3))) : main()).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
