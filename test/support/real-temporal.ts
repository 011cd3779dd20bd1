import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findOrBuildTemporalServer, type TemporalServerBuild } from '../../src/temporal/server-binary';
import {
  dropTemporalDatabases,
  postgresTarget,
  setupTemporalDatabases,
  startTemporalServer,
  type PostgresTarget,
  type TemporalServer,
  type TemporalServerOptions,
} from '../../src/temporal/temporal-server';

/**
 * What a real Temporal server needs here: its build in billflow's cache (`npm run temporal-server`
 * puts it there; tests never build it, a build is minutes) and a PostgreSQL
 * (`BILLFLOW_TEST_DATABASE_URL`'s server). Either missing: the reason, for a skip or a log line.
 */
export async function realTemporalPrerequisites(env: NodeJS.ProcessEnv = process.env): Promise<{ build: TemporalServerBuild; postgres: PostgresTarget } | { missing: string }> {
  if (!env.BILLFLOW_TEST_DATABASE_URL) return { missing: 'BILLFLOW_TEST_DATABASE_URL is not set (no PostgreSQL for the server)' };
  try {
    const build = await findOrBuildTemporalServer({ env, build: false });
    return { build, postgres: postgresTarget(env.BILLFLOW_TEST_DATABASE_URL) };
  } catch (error) {
    return { missing: `no Temporal server build cached (npm run temporal-server builds it): ${(error as Error).message.split('\n')[0]}` };
  }
}

export interface RealTemporal {
  server: TemporalServer;
  /** Stops the server, then drops its databases and its config directory. */
  close(): Promise<void>;
}

/** A real server on databases of its own (`billflow_<name>_<pid>` and its visibility twin), set up fresh. */
export async function startRealTemporal(
  prerequisites: { build: TemporalServerBuild; postgres: PostgresTarget },
  name: string,
  options: Pick<TemporalServerOptions, 'tls' | 'authorization' | 'adminConnection' | 'namespace' | 'log' | 'databaseConnections'> = {},
): Promise<RealTemporal> {
  const { build, postgres } = prerequisites;
  const base = `billflow_${name}_${process.pid}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const databases = { main: base, visibility: `${base}_visibility` };
  const dir = await mkdtemp(path.join(tmpdir(), `billflow-temporal-${name}-`));
  await setupTemporalDatabases({ build, postgres, databases, log: options.log });
  const server = await startTemporalServer({ build, postgres, databases, dir, ...options }).catch(async (error: unknown) => {
    await dropTemporalDatabases({ build, postgres, databases }).catch(() => undefined);
    throw error;
  });
  return {
    server,
    async close() {
      await server.stop();
      await dropTemporalDatabases({ build, postgres, databases }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
