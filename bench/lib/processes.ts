import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';

/** The repository root: children run from there so that `tsx/cjs` and relative paths resolve. */
export const repositoryRoot = path.resolve(__dirname, '../..');

export interface Child {
  process: ChildProcess;
  /** Where its stdout and stderr go. */
  logFile: string;
  /** SIGKILL: an abrupt crash. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutMs`. Resolves once the process is gone. */
  stop(timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  logFile: string;
  /** Opens an IPC channel (`process.send` in the child). */
  ipc?: boolean;
  /** Extra Node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
}

/**
 * Runs a TypeScript file of this repository in a child Node process (through tsx, as `bin/billflow.js`
 * does), its output appended to `logFile` so that a chatty child never blocks on a full pipe.
 */
export function spawnTypeScript(file: string, args: string[], options: SpawnOptions): Child {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--require', 'tsx/cjs', file, ...args], {
    cwd: repositoryRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', fd, fd, ...(options.ipc ? (['ipc'] as const) : [])],
  });
  closeSync(fd);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  // Never outlive the harness, even when it exits abruptly.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    process: child,
    logFile: options.logFile,
    exited,
    async kill() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
    async stop(timeoutMs = 15_000) {
      if (!gone()) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value, at most `timeoutMs`; throws `message` then. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, message: string, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(message);
    await delay(intervalMs);
  }
}
