import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A server billflow started as a child process: the dev server, or the real Temporal server. */
export interface ServerProcess {
  process: ChildProcess;
  /** SIGTERM, then SIGKILL if the server is still up after `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL: an abrupt crash, for tests of what survives one. */
  kill(): void;
}

export interface ServerProcessOptions {
  command: string;
  args: string[];
  spawnOptions?: Omit<SpawnOptions, 'stdio'>;
  /** How errors name it, e.g. `Temporal dev server`. */
  name: string;
  address: string;
  /** Resolves once the server answers; rejects when it gives up; stops when `signal` aborts. */
  waitUntilReady(signal: AbortSignal): Promise<void>;
  /** How the errors word "not ready": `answered` / `did not answer`, or `was ready` / `was not ready`. */
  wording: { before: string; failed: string };
  /** Lines of output kept for error reports. */
  tailLines: number;
  /** Each line as kept in the tail (e.g. shortened); as it is when absent. */
  keepLine?: (line: string) => string;
  /** Each line of output while the server is not ready yet. */
  onStartingLine?: (line: string) => void;
  /** Told when `stop` has to kill the server. */
  log?: (line: string) => void;
}

/**
 * Starts the server and resolves once it is ready; if it exits, cannot be run or never answers, it
 * is killed and the error carries the last lines it printed. The server never outlives this process.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const { name, address, wording } = options;
  const child = spawn(options.command, options.args, { ...options.spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  let ready = false;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      tail.push(options.keepLine ? options.keepLine(line) : line);
      if (tail.length > options.tailLines) tail.shift();
      // Once up, the server's warnings (mostly shutdown noise) only feed error reports.
      if (!ready) options.onStartingLine?.(line);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  // The server must not outlive the process that started it, even when that one exits abruptly.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  const stopWaiting = new AbortController();
  const outcome = await Promise.race([
    options.waitUntilReady(stopWaiting.signal).then(
      () => ({ kind: 'ready' as const }),
      (error: unknown) => ({ kind: 'timeout' as const, error }),
    ),
    exited.then((status) => ({ kind: 'exited' as const, status })),
    spawnFailed.then((error) => ({ kind: 'spawn-failed' as const, error })),
  ]);
  stopWaiting.abort();
  if (outcome.kind !== 'ready') {
    child.kill('SIGKILL');
    // Let the output streams drain so that the tail holds the server's last words.
    await Promise.race([exited, delay(1000)]);
    const output = tail.length > 0 ? `\nServer output (last lines):\n${tail.join('\n')}` : '';
    if (outcome.kind === 'spawn-failed') throw new Error(`Could not run ${options.command}: ${outcome.error.message}`);
    if (outcome.kind === 'exited') {
      const { code, signal } = outcome.status;
      throw new Error(`The ${name} exited before it ${wording.before} on ${address} (${signal ? `signal ${signal}` : `exit code ${code}`}).${output}`);
    }
    throw new Error(`The ${name} ${wording.failed} on ${address}: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}${output}`);
  }
  ready = true;

  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    process: child,
    async stop(timeoutMs = 10_000) {
      if (hasExited()) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), delay(timeoutMs).then(() => false)]);
      if (!stopped) {
        options.log?.(`The ${name} did not stop within ${timeoutMs} ms; killing it.`);
        child.kill('SIGKILL');
        await exited;
      }
    },
    kill() {
      if (!hasExited()) child.kill('SIGKILL');
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
