import type { TestProject } from 'vitest/node';
import { getFreePort } from '../../src/free-port';
import { findOrBuildTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer } from '../../src/temporal/dev-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the dev server shared by the whole run. */
    temporalAddress: string;
    temporalNamespace: string;
    /** For tests that start servers of their own (restarts, outages). */
    temporalCliPath: string;
  }
}

const NAMESPACE = 'default';

/** One in-memory, headless Temporal dev server for the whole test run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(`[temporal] ${line}`);
  const cliPath = await findOrBuildTemporalCli({ log });
  const server = await startDevServer({ cliPath, port: await getFreePort(), namespace: NAMESPACE, log });
  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', NAMESPACE);
  project.provide('temporalCliPath', cliPath);
  return async () => {
    await server.stop();
  };
}
