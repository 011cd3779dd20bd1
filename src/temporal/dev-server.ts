import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { TemporalConnectionOptions } from './connection';
import { searchAttributeFlags } from './search-attributes';
import { errorMessage } from '../go-tool';
import { delay, startServerProcess } from './server-process';

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file to persist to; omitted, the server keeps everything in memory. */
  dbFile?: string;
  /**
   * SQLite pragmas of a persisted server; `journal_mode=wal` when absent. With the default rollback
   * journal every commit waits for several fsyncs, and under load the server's own persistence calls
   * pass their deadlines ("context deadline exceeded", shards closing).
   */
  sqlitePragmas?: readonly string[];
  /** Address the frontend (and UI) bind to; default 127.0.0.1. */
  ip?: string;
  port: number;
  /** Web UI port; omitted, the server runs headless. */
  uiPort?: number;
  /** A namespace created at start, besides "default". */
  namespace?: string;
  log?: (line: string) => void;
  /** How long to wait for the gRPC frontend to answer (default 60 s). */
  startTimeoutMs?: number;
}

export interface DevServer {
  /** host:port for `Connection.connect`. */
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL if the server is still up after `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL: an abrupt crash, for tests of what survives one. */
  kill(): void;
}

const OUTPUT_TAIL_LINES = 50;
const POLL_INTERVAL_MS = 250;
const PROGRESS_INTERVAL_MS = 5_000;

/**
 * Starts `temporal server start-dev` and resolves once its gRPC frontend answers; rejects with
 * the tail of the server's output if the process ends first.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const log = options.log ?? (() => undefined);
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const host = formatHost(connectableHost(ip));
  const address = `${host}:${options.port}`;
  const uiUrl = options.uiPort === undefined ? undefined : `http://${host}:${options.uiPort}`;

  // Otherwise a server already answering there would pass for the one being started.
  if (await isPortOpen(connectableHost(ip), options.port)) {
    throw new Error(`Cannot start a Temporal dev server on ${address}: something is already listening there.`);
  }
  if (options.dbFile) await mkdir(path.dirname(path.resolve(options.dbFile)), { recursive: true });

  const args = [
    'server',
    'start-dev',
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.dbFile ? (options.sqlitePragmas ?? ['journal_mode=wal']).flatMap((pragma) => ['--sqlite-pragma', pragma]) : []),
    '--ip',
    ip,
    '--port',
    String(options.port),
    ...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
    ...(namespace === 'default' ? [] : ['--namespace', namespace]),
    '--log-level',
    'warn',
    ...searchAttributeFlags(),
  ];
  log(`Starting the Temporal dev server on ${address} (${options.dbFile ? `state in ${options.dbFile}` : 'in memory'})…`);
  const startedAt = Date.now();
  const server = await startServerProcess({
    command: options.cliPath,
    args,
    name: 'Temporal dev server',
    address,
    waitUntilReady: (signal) => waitUntilAnswering(address, namespace, options.startTimeoutMs ?? 60_000, signal, log),
    wording: { before: 'answered', failed: 'did not answer' },
    tailLines: OUTPUT_TAIL_LINES,
    onStartingLine: log,
    log,
  });
  log(`Temporal dev server ready on ${address} after ${((Date.now() - startedAt) / 1000).toFixed(1)}s${uiUrl ? `, Web UI at ${uiUrl}` : ''}`);
  return { address, uiUrl, ...server };
}

/**
 * Whether a Temporal frontend answers within `timeoutMs`, reached the way the client will reach it
 * (pass the connection options, TLS and API key included: a plaintext probe gets no answer from a
 * TLS frontend).
 */
export async function isTemporalReachable(target: string | TemporalConnectionOptions, timeoutMs = 2000): Promise<boolean> {
  return (await probeTemporal(target, timeoutMs)) === undefined;
}

/** Why a Temporal frontend does not answer within `timeoutMs` (undefined: it does), reached as `isTemporalReachable` does. */
export async function probeTemporal(target: string | TemporalConnectionOptions, timeoutMs = 2000): Promise<unknown> {
  const options = typeof target === 'string' ? { address: target } : target;
  const deadline = Date.now() + timeoutMs;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: timeoutMs });
    const current = connection;
    await current.withDeadline(Math.max(deadline, Date.now() + 100), () => current.workflowService.getSystemInfo({}));
    return undefined;
  } catch (error) {
    return error ?? new Error('no answer');
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** Whether something accepts TCP connections at `address` (host:port): a server, whatever it speaks. */
export function isAddressListening(address: string): Promise<boolean> {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(address);
  if (!match) return Promise.resolve(false);
  const host = match[1] === 'localhost' ? '127.0.0.1' : (match[1] as string);
  return isPortOpen(host, Number(match[2]));
}

async function waitUntilAnswering(
  address: string,
  namespace: string,
  timeoutMs: number,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const startedAt = Date.now();
  let lastProgressAt = startedAt;
  let lastError: unknown;
  while (Date.now() - startedAt < timeoutMs && !signal.aborted) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      // The frontend may answer a moment before the requested namespace is registered.
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    if (Date.now() - lastProgressAt >= PROGRESS_INTERVAL_MS) {
      lastProgressAt = Date.now();
      log(`waiting for the Temporal dev server at ${address}… ${Math.round((Date.now() - startedAt) / 1000)}s`);
    }
    await delay(POLL_INTERVAL_MS);
  }
  throw new Error(`no answer within ${Math.round(timeoutMs / 1000)}s (last error: ${errorMessage(lastError)})`);
}

function isPortOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A wildcard bind address is reached through loopback. */
function connectableHost(ip: string): string {
  if (ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '::1';
  return ip;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}


