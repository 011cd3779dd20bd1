import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findOrBuildTemporalServer } from '../../src/temporal/server-binary';
import { dropTemporalDatabases, postgresTarget, setupTemporalDatabases, startTemporalServer } from '../../src/temporal/temporal-server';
import type { DevServer } from '../../src/temporal/dev-server';
import { getFreePort } from '../../src/free-port';
import { findOrBuildTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer } from '../../src/temporal/dev-server';

/** Which Temporal a benchmark runs on: the CLI's dev server (SQLite), or the real server on PostgreSQL. */
export type BenchServer = 'dev' | 'real';

export const benchServers: readonly BenchServer[] = ['dev', 'real'];

/** `--server dev,real` → the servers to run on, in that order; each benchmark runs once per server. */
export function readServers(value: string | undefined): BenchServer[] {
  const names = (value ?? 'dev').split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !benchServers.includes(name as BenchServer));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--server takes dev, real or dev,real, not "${value}"`);
  // Found missing now, not after the dev server's half of a long run.
  if (names.includes('real')) benchDatabaseUrl(process.env);
  return [...new Set(names)] as BenchServer[];
}

/** What a benchmark needs of its Temporal, whichever it is. */
export type BenchTemporal = Pick<DevServer, 'address' | 'process' | 'stop'>;

/**
 * The database URL the real server's databases are made beside: `BILLFLOW_BENCH_DATABASE_URL`, else
 * the tests' `BILLFLOW_TEST_DATABASE_URL`. Its database name (if any) prefixes the server's own two,
 * so that a shared PostgreSQL holds them under a name of the caller's choosing.
 */
function benchDatabaseUrl(env: NodeJS.ProcessEnv): string {
  const url = env.BILLFLOW_BENCH_DATABASE_URL || env.BILLFLOW_TEST_DATABASE_URL;
  if (!url) throw new Error('--server real needs a PostgreSQL: set BILLFLOW_BENCH_DATABASE_URL (or BILLFLOW_TEST_DATABASE_URL), e.g. postgres://postgres@127.0.0.1:5432/bench');
  return url;
}

/**
 * A Temporal of the run's own. `real`: the cached server build (`npm run temporal-server` makes it)
 * on fresh databases, dropped again by `stop()`.
 */
export async function startBenchTemporal(server: BenchServer, name: string, log?: (line: string) => void): Promise<BenchTemporal> {
  if (server === 'dev') return startDevServer({ cliPath: await findOrBuildTemporalCli({ log }), port: await getFreePort(), log });
  const url = benchDatabaseUrl(process.env);
  const postgres = postgresTarget(url);
  const prefix = new URL(url).pathname.replace(/^\//, '') || 'billflow';
  const base = `${prefix}_${name}_${process.pid}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const databases = { main: base, visibility: `${base}_visibility` };
  const build = await findOrBuildTemporalServer({ build: false, log });
  const dir = await mkdtemp(path.join(tmpdir(), `billflow-${name}-temporal-`));
  await setupTemporalDatabases({ build, postgres, databases, log });
  const started = await startTemporalServer({ build, postgres, databases, dir, log }).catch(async (error: unknown) => {
    await dropTemporalDatabases({ build, postgres, databases }).catch(() => undefined);
    throw error;
  });
  return {
    address: started.address,
    process: started.process,
    async stop() {
      await started.stop();
      await dropTemporalDatabases({ build, postgres, databases }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
