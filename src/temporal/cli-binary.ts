import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The pinned Temporal CLI. Later tags add a `replace` directive to their go.mod, which
 * `go install module@version` refuses, so they cannot be built the same way.
 */
export const TEMPORAL_CLI_VERSION = '1.5.1';

const GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';
// Without it, a `go install` build reports itself as 0.0.0-DEV.
const GO_VERSION_FLAG = `-ldflags=-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`;
const OUTPUT_TAIL_LINES = 40;

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

/** `$BILLFLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/billflow`, else `~/.cache/billflow`. */
export function billflowCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BILLFLOW_CACHE_DIR) return path.resolve(env.BILLFLOW_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'billflow');
  return path.join(env.HOME || homedir(), '.cache', 'billflow');
}

/** Where billflow keeps the CLI it built or downloaded. */
export function cachedTemporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(billflowCacheDir(env), 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/**
 * A path to a `temporal` binary: the configured one, else the one on PATH, else billflow's
 * cached build, else a fresh build with Go, else a download through the Temporal SDK.
 */
export async function findOrBuildTemporalCli(options: FindTemporalCliOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);

  const configured = options.configuredPath || env.TEMPORAL_CLI;
  if (configured) return resolveConfiguredCli(configured, env);

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
        return await buildWithGo({ go, target: cached, env, log, progressIntervalMs: options.progressIntervalMs ?? 15_000 });
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

async function resolveConfiguredCli(configured: string, env: NodeJS.ProcessEnv): Promise<string> {
  // A bare name ("temporal") means a command on PATH, as a shell would read it.
  const resolved = configured.includes(path.sep) ? path.resolve(configured) : await findOnPath(configured, env);
  if (resolved && (await isExecutableFile(resolved))) return resolved;
  const exists = resolved !== undefined && (await fs.stat(resolved).then(() => true, () => false));
  throw new Error(
    exists
      ? `TEMPORAL_CLI is set to "${configured}", which is not an executable file. Fix its permissions (chmod +x) or point TEMPORAL_CLI at a temporal binary.`
      : `TEMPORAL_CLI is set to "${configured}", but no such file exists. Point it at a temporal binary, or unset it to let billflow find or build one.`,
  );
}

async function findOnPath(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const directory of (env.PATH ?? '').split(path.delimiter)) {
    if (!directory) continue;
    const candidate = path.resolve(directory, command);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await fs.stat(file)).isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function buildWithGo(options: {
  go: string;
  target: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  progressIntervalMs: number;
}): Promise<string> {
  const { go, target, env, log } = options;
  const cliDir = path.dirname(path.dirname(target));
  await fs.mkdir(cliDir, { recursive: true });
  // GOBIN lives beside the target so that the final rename stays on one file system (atomic):
  // a concurrent reader sees either no binary or a whole one.
  const gobin = await fs.mkdtemp(path.join(cliDir, 'build-'));
  const startedAt = Date.now();
  try {
    log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} with ${go} (a few minutes the first time)…`);
    await runForwardingOutput(go, ['install', GO_VERSION_FLAG, `${GO_PACKAGE}@v${TEMPORAL_CLI_VERSION}`], {
      cwd: gobin,
      env: { ...env, CGO_ENABLED: '0', GOBIN: gobin },
      log,
      progress: (seconds) => `still building… ${seconds}s`,
      progressIntervalMs: options.progressIntervalMs,
    });
    const built = path.join(gobin, 'temporal');
    if (!(await isExecutableFile(built))) throw new Error(`go install finished but left no binary at ${built}`);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(built, target);
    log(`Built the Temporal CLI in ${Math.round((Date.now() - startedAt) / 1000)}s: ${target}`);
    return target;
  } finally {
    await fs.rm(gobin, { recursive: true, force: true });
  }
}

function runForwardingOutput(
  command: string,
  args: string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    log: (line: string) => void;
    progress: (seconds: number) => string;
    progressIntervalMs: number;
  },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const tail: string[] = [];
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
        options.log(line);
      });
    }
    const timer = setInterval(
      () => options.log(options.progress(Math.round((Date.now() - startedAt) / 1000))),
      options.progressIntervalMs,
    );
    child.once('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else {
        const status = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(new Error(`${path.basename(command)} ${args.join(' ')} ended with ${status}${tail.length ? `:\n${tail.join('\n')}` : ''}`));
      }
    });
  });
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

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
