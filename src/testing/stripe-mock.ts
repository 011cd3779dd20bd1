import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { buildGoTool, cachedGoToolPath, findOnPath, isExecutableFile, resolveConfiguredTool, type GoTool } from '../go-tool';

/*
 * stripe-mock, Stripe's official mock of its API: it answers every route of Stripe's OpenAPI
 * description and refuses any request that description does not allow (unknown parameters,
 * wrong types, missing required ones). The test suite runs billflow's Stripe client against it,
 * so every call billflow makes is checked against Stripe's own spec, not only against billflow's
 * sandbox. Built from the Go module proxy and cached like the Temporal CLI.
 */

/** Its OpenAPI description is Stripe API version 2026-08-26.dahlia. */
export const STRIPE_MOCK_VERSION = '0.203.0';

export const stripeMockTool: GoTool = {
  title: 'stripe-mock',
  binary: 'stripe-mock',
  goPackage: 'github.com/stripe/stripe-mock',
  version: STRIPE_MOCK_VERSION,
  cacheName: 'stripe-mock',
  variable: 'STRIPE_MOCK',
};

/** No stripe-mock configured or cached, and no Go to build one with. */
export class StripeMockUnavailableError extends Error {
  constructor(cached: string) {
    super(
      `stripe-mock v${STRIPE_MOCK_VERSION} is not cached at ${cached} and there is no \`go\` on PATH to build it ` +
        `(CGO_ENABLED=0 go install ${stripeMockTool.goPackage}@v${STRIPE_MOCK_VERSION}). Install Go, or set STRIPE_MOCK to a stripe-mock binary.`,
    );
    this.name = 'StripeMockUnavailableError';
  }
}

export interface FindStripeMockOptions {
  /** Where STRIPE_MOCK, PATH and the cache locations are read from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** How often a running build reports that it is still going (default 15 s). */
  progressIntervalMs?: number;
}

/**
 * A path to stripe-mock: `STRIPE_MOCK`, else billflow's cached build, else a fresh build with Go.
 * Not looked up on PATH: its version decides which spec requests are checked against.
 */
export async function findOrBuildStripeMock(options: FindStripeMockOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  if (env.STRIPE_MOCK) return resolveConfiguredTool(stripeMockTool, env.STRIPE_MOCK, env);
  const cached = cachedGoToolPath(stripeMockTool, env);
  if (await isExecutableFile(cached)) {
    log(`Using the cached stripe-mock: ${cached}`);
    return cached;
  }
  const go = await findOnPath('go', env);
  if (!go) throw new StripeMockUnavailableError(cached);
  return buildGoTool(stripeMockTool, { go, env, log, progressIntervalMs: options.progressIntervalMs ?? 15_000 });
}

export interface RunningStripeMock {
  /** `http://127.0.0.1:<port>`: an origin, as STRIPE_API_URL takes it. */
  url: string;
  stop(): Promise<void>;
}

/** Starts stripe-mock on free loopback ports (HTTP, and the HTTPS it always opens) and waits until it listens. */
export function startStripeMock(binary: string, options: { startTimeoutMs?: number } = {}): Promise<RunningStripeMock> {
  // An empty port lets the system choose; stripe-mock prints the address it got.
  const child = spawn(binary, ['-http-addr', '127.0.0.1:', '-https-addr', '127.0.0.1:'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`stripe-mock did not listen within ${options.startTimeoutMs ?? 20_000} ms`)), options.startTimeoutMs ?? 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}${output.length ? `:\n${output.join('\n')}` : ''}`));
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`stripe-mock exited (${signal ?? `code ${code}`}) before it listened`)));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        const listening = /^Listening for HTTP at address: (127\.0\.0\.1:\d+)$/.exec(line.trim());
        if (!listening) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        resolve({ url: `http://${listening[1]}`, stop: () => stop(child) });
      });
    }
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
