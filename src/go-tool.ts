import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/*
 * Tools billflow builds from source with Go and keeps in its cache, one folder per tool and
 * version: the Temporal CLI (dev server), stripe-mock (Stripe's API mock, for the tests), and the
 * Temporal server with its SQL tool and UI server (the tests' real server; `goInstall`).
 * Each is found in the same order: a path the operator configured, the cache, a fresh
 * `CGO_ENABLED=0 go install <package>@v<version>` with its progress printed.
 */

/** A pinned Go program, as `go install` builds it. */
export interface GoTool {
  /** How messages name it, e.g. `the Temporal CLI`. */
  title: string;
  /** The file `go install` leaves in GOBIN, e.g. `temporal`. */
  binary: string;
  /** The package to install, e.g. `github.com/temporalio/cli/cmd/temporal`. */
  goPackage: string;
  /** The pinned version, without its `v`. */
  version: string;
  /** The folder under billflow's cache, e.g. `temporal-cli`. */
  cacheName: string;
  /** The variable an operator sets to a binary of their own, e.g. `TEMPORAL_CLI`. */
  variable: string;
  /** More flags for `go install` (e.g. `-ldflags=…`). */
  installFlags?: readonly string[];
}

const OUTPUT_TAIL_LINES = 40;

/** `$BILLFLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/billflow`, else `~/.cache/billflow`. */
export function billflowCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BILLFLOW_CACHE_DIR) return path.resolve(env.BILLFLOW_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'billflow');
  return path.join(env.HOME || homedir(), '.cache', 'billflow');
}

/** Where billflow keeps the tool it built: `<cache>/<cacheName>/v<version>/<binary>`. */
export function cachedGoToolPath(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(billflowCacheDir(env), tool.cacheName, `v${tool.version}`, tool.binary);
}

/** The configured binary, resolved; throws a message naming the tool's variable when it is unusable. */
export async function resolveConfiguredTool(tool: GoTool, configured: string, env: NodeJS.ProcessEnv): Promise<string> {
  // A bare name ("temporal") means a command on PATH, as a shell would read it.
  const resolved = configured.includes(path.sep) ? path.resolve(configured) : await findOnPath(configured, env);
  if (resolved && (await isExecutableFile(resolved))) return resolved;
  const exists = resolved !== undefined && (await fs.stat(resolved).then(() => true, () => false));
  throw new Error(
    exists
      ? `${tool.variable} is set to "${configured}", which is not an executable file. Fix its permissions (chmod +x) or point ${tool.variable} at a ${tool.binary} binary.`
      : `${tool.variable} is set to "${configured}", but no such file exists. Point it at a ${tool.binary} binary, or unset it to let billflow find or build one.`,
  );
}

export async function findOnPath(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const directory of (env.PATH ?? '').split(path.delimiter)) {
    if (!directory) continue;
    const candidate = path.resolve(directory, command);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await fs.stat(file)).isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the tool with `go` into its cache path and returns that path. Progress (Go's own output
 * and a line every `progressIntervalMs`) goes to `log`; a failure carries the output's tail.
 */
export function buildGoTool(
  tool: GoTool,
  options: { go: string; env: NodeJS.ProcessEnv; log: (line: string) => void; progressIntervalMs: number },
): Promise<string> {
  const target = cachedGoToolPath(tool, options.env);
  return goInstall({
    ...options,
    what: `${tool.title} v${tool.version}`,
    packages: [`${tool.goPackage}@v${tool.version}`],
    flags: tool.installFlags ? [...tool.installFlags] : undefined,
    target: path.dirname(target),
    finish: async () => {
      if (!(await isExecutableFile(target))) throw new Error(`go install finished but left no binary at ${target}`);
      return target;
    },
  });
}

export function runForwardingOutput(
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

export interface GoInstallOptions<T> {
  go: string;
  /** What is built, for the progress lines: "the Temporal CLI v1.5.1". */
  what: string;
  /** `module/path/cmd@version`, one or more. */
  packages: string[];
  flags?: string[];
  /** The cache directory that ends up holding the binaries (e.g. `…/temporal-cli/v1.5.1`). */
  target: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  progressIntervalMs: number;
  /** Runs in the build directory once the binaries are in it, before it becomes `target` (copy files, rename binaries). */
  prepare?: (buildDir: string) => Promise<void>;
  /** Called with `target` once in place: returns what the caller wants (a binary's path). */
  finish: (target: string) => Promise<T>;
}

/**
 * `go install` of `packages` into a fresh directory beside `target`, which is then renamed into
 * place: on one file system that is atomic, so a concurrent reader sees either no build or a whole
 * one. A build already put there by someone else wins.
 */
export async function goInstall<T>(options: GoInstallOptions<T>): Promise<T> {
  const { go, target, env, log } = options;
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  const buildDir = await fs.mkdtemp(path.join(parent, 'build-'));
  const startedAt = Date.now();
  try {
    log(`Building ${options.what} with ${go} (a few minutes the first time)…`);
    await runForwardingOutput(go, ['install', ...(options.flags ?? []), ...options.packages], {
      cwd: buildDir,
      env: { ...env, CGO_ENABLED: '0', GOBIN: buildDir },
      log,
      progress: (seconds) => `still building… ${seconds}s`,
      progressIntervalMs: options.progressIntervalMs,
    });
    await options.prepare?.(buildDir);
    await moveIntoPlace(buildDir, target);
    log(`Built ${options.what} in ${Math.round((Date.now() - startedAt) / 1000)}s: ${target}`);
    return await options.finish(target);
  } finally {
    await fs.rm(buildDir, { recursive: true, force: true });
  }
}

/** Moves a finished build directory's entries to `target` (a directory that may already hold others). */
async function moveIntoPlace(buildDir: string, target: string): Promise<void> {
  await fs.mkdir(target, { recursive: true });
  for (const entry of await fs.readdir(buildDir)) {
    const destination = path.join(target, entry);
    await fs.rm(destination, { recursive: true, force: true });
    await fs.rename(path.join(buildDir, entry), destination);
  }
}

/** `go env NAME`. */
export async function goEnv(go: string, name: string, env: NodeJS.ProcessEnv): Promise<string> {
  let output = '';
  await runForwardingOutput(go, ['env', name], {
    cwd: process.cwd(),
    env,
    log: (line) => (output += line),
    progress: () => '',
    progressIntervalMs: 60_000,
  });
  return output.trim();
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
