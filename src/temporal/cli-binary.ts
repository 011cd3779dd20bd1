import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildGoTool, cachedGoToolPath, errorMessage, findOnPath, isExecutableFile, resolveConfiguredTool, type GoTool } from '../go-tool';

export { billflowCacheDir } from '../go-tool';

/**
 * The pinned Temporal CLI. Later tags add a `replace` directive to their go.mod, which
 * `go install module@version` refuses, so they cannot be built the same way.
 */
export const TEMPORAL_CLI_VERSION = '1.5.1';

export const temporalCliTool: GoTool = {
  title: 'the Temporal CLI',
  binary: 'temporal',
  goPackage: 'github.com/temporalio/cli/cmd/temporal',
  version: TEMPORAL_CLI_VERSION,
  cacheName: 'temporal-cli',
  variable: 'TEMPORAL_CLI',
  // Without it, a `go install` build reports itself as 0.0.0-DEV.
  installFlags: [`-ldflags=-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`],
};

export interface FindTemporalCliOptions {
  /** A binary chosen by the operator (TEMPORAL_CLI); defaults to `env.TEMPORAL_CLI`. */
  configuredPath?: string;
  log?: (line: string) => void;
  /** Where PATH, TEMPORAL_CLI and the cache locations are read from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Build with Go when no binary is found (default true). */
  build?: boolean;
  /** Download through the Temporal SDK when Go is missing or its build fails (default true). */
  download?: boolean;
  /** How often a running build reports that it is still going (default 15 s). */
  progressIntervalMs?: number;
}

/** Nothing usable was found and nothing could be built or downloaded. */
export class TemporalCliNotFoundError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      [
        `Could not find or build the Temporal CLI v${TEMPORAL_CLI_VERSION}. Do one of:`,
        `  - install Go >= 1.22 (https://go.dev/dl/) so billflow can build it (a few minutes, once);`,
        `  - set TEMPORAL_CLI to the path of a \`temporal\` binary;`,
        `  - install the Temporal CLI (https://docs.temporal.io/cli) so that \`temporal\` is on PATH.`,
        ...(attempts.length > 0 ? ['What was tried:', ...attempts.map((attempt) => `  - ${attempt}`)] : []),
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

/** Where billflow keeps the CLI it built or downloaded. */
export function cachedTemporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return cachedGoToolPath(temporalCliTool, env);
}

/**
 * A path to a `temporal` binary: the configured one, else the one on PATH, else billflow's
 * cached build, else a fresh build with Go, else a download through the Temporal SDK.
 */
export async function findOrBuildTemporalCli(options: FindTemporalCliOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);

  const configured = options.configuredPath || env.TEMPORAL_CLI;
  if (configured) return resolveConfiguredTool(temporalCliTool, configured, env);

  const onPath = await findOnPath('temporal', env);
  if (onPath) {
    log(`Using the Temporal CLI on PATH: ${onPath}`);
    return onPath;
  }

  const cached = cachedTemporalCliPath(env);
  if (await isExecutableFile(cached)) {
    log(`Using the cached Temporal CLI: ${cached}`);
    return cached;
  }

  const attempts = [`no \`temporal\` on PATH`, `nothing cached at ${cached}`];
  if (options.build !== false) {
    const go = await findOnPath('go', env);
    if (go) {
      try {
        return await buildGoTool(temporalCliTool, { go, env, log, progressIntervalMs: options.progressIntervalMs ?? 15_000 });
      } catch (error) {
        attempts.push(`building with Go failed: ${errorMessage(error)}`);
        log(`Building the Temporal CLI with Go failed; ${options.download === false ? 'giving up' : 'trying the download instead'}.`);
      }
    } else {
      attempts.push('no `go` on PATH to build it with');
    }
  }
  if (options.download !== false) {
    try {
      return await downloadWithTemporalSdk({ target: cached, log });
    } catch (error) {
      attempts.push(`downloading through the Temporal SDK failed: ${errorMessage(error)}`);
    }
  }
  throw new TemporalCliNotFoundError(attempts);
}

/**
 * The SDK's own dev-server download (`cached-download`). It only downloads as part of starting
 * a server, so a throwaway in-memory server is started and stopped; the binary it leaves at the
 * SDK's fixed name (`temporal-<version>`) is then moved into billflow's cache, where the SDK's
 * download TTL no longer applies.
 */
async function downloadWithTemporalSdk(options: { target: string; log: (line: string) => void }): Promise<string> {
  const { target, log } = options;
  const downloadDir = path.join(path.dirname(path.dirname(target)), 'download');
  await fs.mkdir(downloadDir, { recursive: true });
  log(`Downloading the Temporal CLI v${TEMPORAL_CLI_VERSION} through the Temporal SDK into ${downloadDir}…`);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  let serverError: unknown;
  try {
    const environment = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', downloadDir, version: `v${TEMPORAL_CLI_VERSION}` },
        ip: '127.0.0.1',
      },
    });
    await environment.teardown();
  } catch (error) {
    serverError = error;
  }
  const downloaded = path.join(downloadDir, `temporal-v${TEMPORAL_CLI_VERSION}`);
  // A server that failed to start after the download still leaves a usable binary.
  if (!(await isExecutableFile(downloaded))) {
    throw serverError ?? new Error(`the SDK reported success but left no binary at ${downloaded}`);
  }
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.rename(downloaded, target);
  log(`Downloaded the Temporal CLI: ${target}`);
  return target;
}
