// `npm run chaos`: the full crash test (10,000 deliveries, 2 worker and 2 Temporal SIGKILLs, 100,000 forgeries).
// `npm run chaos -- --webhooks 500 --fuzz 2000` for a short one.
import { readOptions } from '../bench/lib/report';
import { describeSender } from '../bench/lib/sender';
import { describeFuzz } from './fuzz';
import { runChaos } from './run';

const options = readOptions(process.argv.slice(2), {
  webhooks: { quick: 10_000, full: 10_000, help: 'deliveries, repeats included' },
  fuzz: { quick: 100_000, full: 100_000, help: 'forged and fuzzed requests afterwards' },
  concurrency: { quick: 16, full: 16, help: 'deliveries in flight' },
  'worker-kills': { quick: 2, full: 2, help: 'worker SIGKILLs' },
  'temporal-kills': { quick: 2, full: 2, help: 'Temporal server SIGKILLs' },
  minutes: { quick: 40, full: 40, help: 'time limit' },
  seed: { quick: 42, full: 42, help: 'seed of the scenario' },
});

async function main(): Promise<void> {
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`  · [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const report = await runChaos({
    webhooks: options.webhooks,
    duplicateShare: 0.1,
    maxBatch: 3,
    stripeShare: 0.1,
    concurrency: options.concurrency,
    workerKills: options['worker-kills'],
    temporalKills: options['temporal-kills'],
    fuzzRequests: options.fuzz,
    seed: options.seed,
    timeLimitMs: options.minutes * 60_000,
    log,
  });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`faults: ${report.faults.join('; ')}${report.unexpectedWorkerExits ? `; ${report.unexpectedWorkerExits} unexpected worker exits` : ''}`);
  out(`sender: ${describeSender(report.sender)}`);
  if (report.fuzz) out(`fuzz: ${describeFuzz(report.fuzz)}`);
  for (const problem of report.verdict.problems) out(`PROBLEM: ${problem}`);
  out(`chaos ${report.passed ? 'passed' : 'FAILED'} in ${(report.elapsedMs / 1000).toFixed(0)} s: ${report.counts}`);
  process.exitCode = report.passed ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
