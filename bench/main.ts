// `npm run bench [-- [--full] [--cpu-prof] [--log-level warn] [--server dev,real] [verify-parse|receiver-cpu|ingest|worker|scale|actions …]]`: every benchmark (or
// the ones named), each printing its summary line, then the table of figures. Each file also runs alone
// with its own sizes, e.g. `npx tsx bench/ingest.ts --webhooks 5000 --concurrency 64`.
import { parseArgs } from 'node:util';
import { actions, actionsOptions } from './actions';
import { ingest, ingestOptions } from './ingest';
import { machine, markdownTable, readOptions, type BenchResult } from './lib/report';
import { receiverCpu, receiverCpuOptions } from './receiver-cpu';
import { scale, scaleOptions } from './scale';
import { verifyParse, verifyParseOptions } from './verify-parse';
import { workerKeepsUp, workerOptions } from './worker-keeps-up';

const benchmarks: Record<string, (argv: string[]) => Promise<BenchResult>> = {
  'verify-parse': (argv) => verifyParse(readOptions(argv, verifyParseOptions)),
  'receiver-cpu': (argv) => receiverCpu(readOptions(argv, receiverCpuOptions)),
  ingest: (argv) => ingest(readOptions(argv, ingestOptions)),
  worker: (argv) => workerKeepsUp(readOptions(argv, workerOptions)),
  scale: (argv) => scale(readOptions(argv, scaleOptions)),
  actions: (argv) => actions(readOptions(argv, actionsOptions)),
};

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { full: { type: 'boolean' }, 'cpu-prof': { type: 'boolean' }, 'log-level': { type: 'string' }, server: { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      [
        'npm run bench -- [--full] [--cpu-prof] [--log-level <level>] [--server dev|real|dev,real] [benchmark …]',
        `  benchmarks: ${Object.keys(benchmarks).join(', ')} (all when none is named)`,
        '  --full        the full sizes (about 20 minutes for all); quick sizes otherwise',
        '  --cpu-prof    write CPU profiles of the receiver or worker and keep them',
        '  --log-level   LOG_LEVEL of billflow\'s processes (default info, as shipped)',
        '  --server      the Temporal to run on: dev (default), real (the Temporal server on PostgreSQL), or both',
        'Each benchmark also runs alone with its own sizes: npx tsx bench/<file>.ts --help',
        '',
      ].join('\n'),
    );
    return;
  }
  const unknown = positionals.filter((name) => !(name in benchmarks));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}`);
  const names = positionals.length > 0 ? positionals : Object.keys(benchmarks);
  const argv = [...(values.full ? ['--full'] : []), ...(values['cpu-prof'] ? ['--cpu-prof'] : []), ...(values['log-level'] ? ['--log-level', values['log-level']] : []), ...(values.server ? ['--server', values.server] : [])];
  process.stderr.write(`billflow benchmarks (${values.full ? 'full' : 'quick'} sizes) on ${machine()}; ratios are against a baseline measured in the same run\n`);
  const results: BenchResult[] = [];
  for (const name of names) {
    const started = Date.now();
    const result = await (benchmarks[name] as (argv: string[]) => Promise<BenchResult>)(argv);
    results.push(result);
    process.stdout.write(`${result.summary} [${((Date.now() - started) / 1000).toFixed(0)} s]\n`);
  }
  process.stdout.write(`\n${markdownTable(results.flatMap((result) => result.rows))}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
