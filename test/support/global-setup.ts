import type { TestProject } from 'vitest/node';
import { getFreePort } from '../../src/free-port';
import { findOrBuildTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer } from '../../src/temporal/dev-server';
import { realTemporalPrerequisites, startRealTemporal } from './real-temporal';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal server shared by the whole run. */
    temporalAddress: string;
    temporalNamespace: string;
    /** Which server that is: the real Temporal server on PostgreSQL, or the CLI's dev server. */
    temporalServer: 'real' | 'dev';
    /** For tests that start servers of their own (restarts, outages, the Web UI) and the `temporal` CLI. */
    temporalCliPath: string;
  }
}

const NAMESPACE = 'default';

/**
 * One Temporal server for the whole test run. `TEMPORAL_TEST_SERVER=real` runs the real Temporal
 * server (the build `npm run temporal-server` caches) on `BILLFLOW_TEST_DATABASE_URL`'s PostgreSQL,
 * with databases of its own; `dev` an in-memory, headless dev server. Unset: real when both are
 * there (as in CI), dev otherwise.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(`[temporal] ${line}`);
  const cliPath = await findOrBuildTemporalCli({ log });
  project.provide('temporalCliPath', cliPath);
  project.provide('temporalNamespace', NAMESPACE);

  const wanted = process.env.TEMPORAL_TEST_SERVER || undefined;
  if (wanted !== undefined && wanted !== 'real' && wanted !== 'dev') throw new Error(`TEMPORAL_TEST_SERVER must be real or dev, not "${wanted}"`);
  if (wanted !== 'dev') {
    const prerequisites = await realTemporalPrerequisites();
    if ('missing' in prerequisites) {
      if (wanted === 'real') throw new Error(`TEMPORAL_TEST_SERVER=real, but ${prerequisites.missing}`);
      log(`Tests run on the Temporal dev server: no real server, because ${prerequisites.missing}`);
    } else {
      const temporal = await startRealTemporal(prerequisites, 'tests', { namespace: NAMESPACE, log });
      log(`Tests run on the real Temporal server v${prerequisites.build.version} (PostgreSQL) at ${temporal.server.address}`);
      project.provide('temporalAddress', temporal.server.address);
      project.provide('temporalServer', 'real');
      return () => temporal.close();
    }
  } else {
    log('Tests run on the Temporal dev server (TEMPORAL_TEST_SERVER=dev)');
  }
  const server = await startDevServer({ cliPath, port: await getFreePort(), namespace: NAMESPACE, log });
  project.provide('temporalAddress', server.address);
  project.provide('temporalServer', 'dev');
  return async () => {
    await server.stop();
  };
}
