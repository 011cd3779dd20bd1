import os from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readServers, type BenchServer } from './temporal';

/** One row of the final table (and of the README's). */
export interface Row {
  what: string;
  command: string;
  figure: string;
  /** billflow's figure over the baseline's (or the figure over its own target quantity). */
  ratio?: number;
  target: string;
  /** Undefined: nothing to compare against (throughput only). */
  met?: boolean;
  /** The Temporal it ran on; none for benchmarks without one. */
  server?: BenchServer;
}

export interface BenchResult {
  name: string;
  /** The one line this benchmark prints, with its ratio. */
  summary: string;
  rows: Row[];
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}×`;
}

export function verdict(met: boolean | undefined): string {
  return met === undefined ? 'n/a' : met ? 'met' : 'NOT met';
}

export function round(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

export function machine(): string {
  return `${os.cpus().length} cores (shared), ${Math.round(os.totalmem() / 1024 ** 3)} GB, Node ${process.versions.node}`;
}

export function markdownTable(rows: readonly Row[]): string {
  const header = '| what | command | machine | Temporal | figure | ratio | target met? |';
  const line = '| --- | --- | --- | --- | --- | --- | --- |';
  const body = rows.map(
    (row) =>
      `| ${row.what} | \`${row.command}\` | ${machine()} | ${row.server ? serverNames[row.server] : '—'} | ${row.figure} | ${formatRatio(row.ratio)} | ${row.target}: ${verdict(row.met)} |`,
  );
  return [header, line, ...body].join('\n');
}

export const serverNames: Record<BenchServer, string> = { dev: 'dev server (SQLite)', real: 'Temporal server v1.30 (PostgreSQL)' };

/**
 * Runs a benchmark once on each server asked for (`--server dev,real`), one after another in the
 * same run, so that their figures sit side by side; each row says which server it ran on.
 */
export async function onEachServer(servers: readonly BenchServer[], run: (server: BenchServer) => Promise<BenchResult>): Promise<BenchResult> {
  const results: BenchResult[] = [];
  for (const server of servers) {
    const result = await run(server);
    results.push({ ...result, summary: servers.length > 1 ? `[${server}] ${result.summary}` : result.summary, rows: result.rows.map((row) => ({ ...row, server })) });
  }
  const [first] = results;
  if (!first) throw new Error('no server to run on');
  return { name: first.name, summary: results.map((result) => result.summary).join('\n'), rows: results.flatMap((result) => result.rows) };
}

/**
 * The command line of one benchmark: `--full` takes the sizes, every size can be set on its
 * own; numbers only, all bounded.
 */
export function readOptions<Names extends string>(
  argv: string[],
  defaults: Record<Names, { quick: number; full: number; help: string }>,
): Record<Names, number> & CommonOptions {
  const numeric = Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: 'string' as const }]));
  const config: ParseArgsConfig = {
    args: argv,
    options: { ...numeric, full: { type: 'boolean' }, 'cpu-prof': { type: 'boolean' }, 'log-level': { type: 'string' }, server: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  };
  const { values } = parseArgs(config);
  if (values.help) {
    const lines = Object.entries<{ quick: number; full: number; help: string }>(defaults).map(
      ([name, spec]) => `  --${name} <n>   ${spec.help} (quick ${spec.quick}, --full ${spec.full})`,
    );
    process.stdout.write(
      [
        'Options:',
        "  --full          the issue's sizes",
        "  --cpu-prof      write CPU profiles of billflow's processes (kept in the scratch directory)",
        "  --log-level <l> LOG_LEVEL of billflow's processes (default info, as shipped)",
        '  --server <s>    the Temporal to run on: dev (default), real (the Temporal server on PostgreSQL) or dev,real',
        ...lines,
        '',
      ].join('\n'),
    );
    process.exit(0);
  }
  const full = values.full === true;
  const logLevel = typeof values['log-level'] === 'string' ? values['log-level'] : 'info';
  const servers = readServers(typeof values.server === 'string' ? values.server : undefined);
  const result: Record<string, number | boolean | string | BenchServer[]> = { full, cpuProf: values['cpu-prof'] === true, logLevel, servers };
  for (const [name, spec] of Object.entries<{ quick: number; full: number }>(defaults)) {
    const given = values[name];
    const value = typeof given === 'string' ? Number(given) : full ? spec.full : spec.quick;
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
    result[name] = value;
  }
  return result as Record<Names, number> & CommonOptions;
}

/** What every benchmark's command line takes besides its sizes. */
export interface CommonOptions {
  full: boolean;
  cpuProf: boolean;
  logLevel: string;
  servers: BenchServer[];
}

/** Runs a benchmark's `main` when its file is run directly; prints its summary line last. */
export function runAlone(module: NodeModule, main: () => Promise<BenchResult>): void {
  if (require.main !== module) return;
  main().then(
    (result) => {
      process.stdout.write(`${result.summary}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

export function progress(line: string): void {
  process.stderr.write(`  · ${line}\n`);
}
