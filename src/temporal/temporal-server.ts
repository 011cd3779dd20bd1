import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { getFreePort } from '../free-port';
import type { TemporalConnectionOptions } from './connection';
import { errorMessage, runForwardingOutput } from '../go-tool';
import { ensureSearchAttributes } from './search-attributes';
import type { TemporalServerBuild } from './server-binary';
import { delay, startServerProcess } from './server-process';

/**
 * A real Temporal server (the one production runs, not `temporal server start-dev`) on a
 * PostgreSQL of this machine: its schema set up by temporal-sql-tool, every port a free one, its
 * config written in a scratch directory. For billflow's tests; docker-compose.yml is the
 * production-shaped counterpart.
 */

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
}

/** `postgres://user[:password]@host[:port]/…` → where the server and the SQL tool connect. */
export function postgresTarget(url: string): PostgresTarget {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username || 'postgres'),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}

export interface TemporalDatabases {
  main: string;
  visibility: string;
}

/**
 * (Re)creates the server's two databases and sets up their schema at the version the build ships
 * (`drop`, `create`, `setup-schema -v 0.0`, `update-schema` through every versioned step).
 */
export async function setupTemporalDatabases(options: {
  build: TemporalServerBuild;
  postgres: PostgresTarget;
  databases: TemporalDatabases;
  log?: (line: string) => void;
}): Promise<void> {
  const log = options.log ?? (() => undefined);
  const run = sqlTool(options);
  const setUp = async (database: string, schema: 'temporal' | 'visibility') => {
    const startedAt = Date.now();
    await run(database, ['drop', '-f']);
    await run(database, ['create']);
    await run(database, ['setup-schema', '-v', '0.0']);
    await run(database, ['update-schema', '-d', path.join(options.build.schemaDir, schema, 'versioned')]);
    log(`Temporal schema ready in database ${database} after ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
  };
  await Promise.all([setUp(options.databases.main, 'temporal'), setUp(options.databases.visibility, 'visibility')]);
}

/** Drops the server's two databases (the server must be stopped). */
export async function dropTemporalDatabases(options: { build: TemporalServerBuild; postgres: PostgresTarget; databases: TemporalDatabases }): Promise<void> {
  const run = sqlTool(options);
  await Promise.all([run(options.databases.main, ['drop', '-f']), run(options.databases.visibility, ['drop', '-f'])]);
}

function sqlTool({ build, postgres }: { build: TemporalServerBuild; postgres: PostgresTarget }) {
  const common = ['--plugin', 'postgres12', '--ep', postgres.host, '-p', String(postgres.port), '-u', postgres.user];
  // The password travels in the environment, never on a command line others can read.
  const env = { PATH: process.env.PATH ?? '', ...(postgres.password ? { SQL_PASSWORD: postgres.password } : {}) };
  return (database: string, args: string[]) =>
    runForwardingOutput(build.sqlTool, [...common, '--db', database, ...args], {
      cwd: process.cwd(),
      env,
      // The tool logs every statement at info level: only failures (in the error) matter.
      log: () => undefined,
      progress: (seconds) => `still working on ${database}… ${seconds}s`,
      progressIntervalMs: 30_000,
    });
}

export interface TemporalServerTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The name in the server's certificate the server's own clients check. */
  serverName: string;
  /** mTLS: refuse clients without a certificate signed by the CA. */
  requireClientAuth: boolean;
  /** The system workers' own client certificate (needed when client certificates are required). */
  systemWorker?: { certFile: string; keyFile: string };
}

export interface TemporalServerAuthorization {
  /** Where the server fetches the keys that sign bearer tokens (JWKS), at start and then every minute. */
  jwksUrl: string;
}

export interface TemporalServerOptions {
  build: TemporalServerBuild;
  postgres: PostgresTarget;
  databases: TemporalDatabases;
  /** Scratch directory for the server's config. */
  dir: string;
  /** Created at start (with billflow's search attributes); default "default". */
  namespace?: string;
  tls?: TemporalServerTls;
  authorization?: TemporalServerAuthorization;
  /** How the start-up checks connect: the credentials of an administrator (TLS, client certificate, API key). */
  adminConnection?: Omit<TemporalConnectionOptions, 'address'>;
  log?: (line: string) => void;
  /** How long to wait for the frontend and the namespace (default 120 s). */
  startTimeoutMs?: number;
  /** The ports of an earlier start, to come back on the same address after a crash; default: free ones. */
  ports?: TemporalServerPorts;
  /**
   * The most PostgreSQL connections the server opens to each of its databases (default 20 and 4): a
   * short-lived server beside others takes fewer, so they all fit in PostgreSQL's 100.
   */
  databaseConnections?: { main: number; visibility: number };
}

/** Every port of one server: each service's gRPC, membership and (frontends) HTTP ports. */
export interface TemporalServerPorts {
  grpc: number[];
  membership: number[];
  http: number[];
}

export interface TemporalServer {
  /** host:port of the frontend. */
  address: string;
  namespace: string;
  process: ChildProcess;
  /** Pass them to a later start to come back on the same address. */
  ports: TemporalServerPorts;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<void>;
  kill(): void;
}

const OUTPUT_TAIL_LINES = 30;
const SERVICES = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'] as const;

/** Starts the server and resolves once its frontend answers and the namespace takes calls. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const log = options.log ?? (() => undefined);
  const namespace = options.namespace ?? 'default';
  await mkdir(options.dir, { recursive: true });
  const ports = options.ports ?? (await allocatePorts());
  const rpc = Object.fromEntries(
    SERVICES.map((service, index) => [
      service,
      {
        rpc: {
          grpcPort: ports.grpc[index] as number,
          membershipPort: ports.membership[index] as number,
          bindOnLocalHost: true,
          ...(service.endsWith('frontend') ? { httpPort: ports.http[index] as number } : {}),
        },
      },
    ]),
  ) as Record<(typeof SERVICES)[number], { rpc: { grpcPort: number; membershipPort: number; bindOnLocalHost: boolean; httpPort?: number } }>;
  const address = `127.0.0.1:${rpc.frontend.rpc.grpcPort}`;
  // The internal frontend is the system workers' way in when an authorizer is on.
  const services = options.authorization ? SERVICES : SERVICES.filter((service) => service !== 'internal-frontend');

  const dynamicConfigFile = path.join(options.dir, 'dynamicconfig.yaml');
  const configFile = path.join(options.dir, 'temporal-server.yaml');
  // YAML is a superset of JSON: no YAML writer needed.
  await writeFile(dynamicConfigFile, JSON.stringify(temporalDynamicConfig(), null, 2));
  await writeFile(
    configFile,
    JSON.stringify(serverConfig({ ...options, address, dynamicConfigFile, services: Object.fromEntries(services.map((service) => [service, rpc[service]])) }), null, 2),
  );

  const args = ['--config-file', configFile, ...(options.authorization ? [] : ['--allow-no-auth']), 'start', ...services.flatMap((service) => ['--service', service])];
  log(`Starting the Temporal server v${options.build.version} on ${address} (databases ${options.databases.main}, ${options.databases.visibility})…`);
  const startedAt = Date.now();
  const connection = { ...options.adminConnection, address };
  const server = await startServerProcess({
    command: options.build.server,
    args,
    // A clean environment: the server reads TEMPORAL_* variables of its own.
    spawnOptions: { cwd: options.dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? options.dir } },
    name: 'Temporal server',
    address,
    waitUntilReady: (signal) => waitUntilReady(connection, namespace, options.startTimeoutMs ?? 120_000, signal, log),
    wording: { before: 'was ready', failed: 'was not ready' },
    tailLines: OUTPUT_TAIL_LINES,
    keepLine: conciseLogLine,
  });
  log(`Temporal server ready on ${address} (namespace ${namespace}) after ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
  return { address, namespace, ports, ...server };
}

function serverConfig(options: TemporalServerOptions & { address: string; dynamicConfigFile: string; services: Record<string, unknown> }) {
  const { postgres, databases, tls } = options;
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${postgres.host}:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password ?? '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const tlsClient = tls && { serverName: tls.serverName, rootCaFiles: [tls.caFile] };
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: 4,
      datastores: {
        default: datastore(databases.main, options.databaseConnections?.main ?? 20),
        visibility: datastore(databases.visibility, options.databaseConnections?.visibility ?? 4),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      ...(tls
        ? {
            tls: {
              frontend: {
                server: {
                  certFile: tls.certFile,
                  keyFile: tls.keyFile,
                  requireClientAuth: tls.requireClientAuth,
                  ...(tls.requireClientAuth ? { clientCaFiles: [tls.caFile] } : {}),
                },
                client: tlsClient,
              },
              // Without it the system workers fall back to an internode certificate there is none of.
              systemWorker: { ...(tls.systemWorker ?? {}), client: tlsClient },
            },
          }
        : {}),
      ...(options.authorization
        ? {
            authorization: {
              jwtKeyProvider: { keySourceURIs: [options.authorization.jwksUrl], refreshInterval: '1m' },
              permissionsClaimName: 'permissions',
              authorizer: 'default',
              claimMapper: 'default',
            },
          }
        : {}),
    },
    services: options.services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: options.address } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: options.dynamicConfigFile, pollInterval: '10s' },
  };
}

/**
 * The dev server's own defaults that matter to tests: search attributes usable as soon as they are
 * added. docker-compose.yml runs its server with the same (compose/temporal-dynamicconfig.yaml).
 */
export function temporalDynamicConfig() {
  return {
    'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
    'frontend.persistenceMaxQPS': [{ value: 10000 }],
    'history.persistenceMaxQPS': [{ value: 45000 }],
    'system.namespaceCacheRefreshInterval': [{ value: '1s' }],
  };
}

const GRPC_ALREADY_EXISTS = 6;

/** Frontend up, namespace registered and known to the frontend, billflow's search attributes there. */
async function waitUntilReady(connectionOptions: TemporalConnectionOptions, namespace: string, timeoutMs: number, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  const startedAt = Date.now();
  let lastProgressAt = startedAt;
  let lastError: unknown;
  let registered = false;
  while (Date.now() - startedAt < timeoutMs && !signal.aborted) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ ...connectionOptions, connectTimeout: 2000 });
      await connection.workflowService.getSystemInfo({});
      if (!registered) {
        await connection.workflowService
          .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
          .catch((error: unknown) => {
            if (!(isGrpcServiceError(error) && error.code === GRPC_ALREADY_EXISTS)) throw error;
          });
        registered = true;
      }
      await ensureSearchAttributes(connection, namespace);
      // Until the frontend's namespace cache knows it, workflow calls answer "namespace not found".
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    if (Date.now() - lastProgressAt >= 5_000) {
      lastProgressAt = Date.now();
      log(`waiting for the Temporal server at ${connectionOptions.address}… ${Math.round((Date.now() - startedAt) / 1000)}s`);
    }
    await delay(250);
  }
  throw new Error(`not ready within ${Math.round(timeoutMs / 1000)}s (last error: ${errorMessage(lastError)})`);
}

/** The server logs JSON with a stack trace per error: its level, message and error tell enough. */
function conciseLogLine(line: string): string {
  try {
    const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
    if (entry.msg) return [entry.level, entry.msg, entry.error].filter(Boolean).join(': ');
  } catch {
    // Not JSON: as it is.
  }
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

async function allocatePorts(): Promise<TemporalServerPorts> {
  const free = await distinctFreePorts(SERVICES.length * 2);
  return {
    grpc: free.slice(0, SERVICES.length),
    http: free.slice(SERVICES.length),
    // The cluster_membership table keeps a membership port in a smallint: below 32768.
    membership: await freePortsBelow(32_768, SERVICES.length, free),
  };
}

async function freePortsBelow(limit: number, count: number, taken: readonly number[]): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < 1000; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * (limit - 20_000));
    if (!taken.includes(candidate) && !ports.has(candidate) && (await isBindable(candidate))) ports.add(candidate);
  }
  if (ports.size < count) throw new Error(`Could not find ${count} free ports below ${limit}`);
  return [...ports];
}

function isBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await getFreePort());
  return [...ports];
}


export interface TemporalUi {
  url: string;
  stop(): Promise<void>;
}

/** The Temporal Web UI server in front of `temporalAddress` (plaintext), on `port`; resolves once it answers. */
export async function startTemporalUi(options: { binary: string; temporalAddress: string; port: number; dir: string; namespace?: string; log?: (line: string) => void }): Promise<TemporalUi> {
  const configDir = path.join(options.dir, 'config');
  await mkdir(configDir, { recursive: true });
  const config = {
    temporalGrpcAddress: options.temporalAddress,
    port: options.port,
    enableUi: true,
    defaultNamespace: options.namespace ?? 'default',
    notifyOnNewVersion: false,
    cors: { cookieInsecure: true, allowOrigins: [`http://127.0.0.1:${options.port}`, `http://localhost:${options.port}`] },
    auth: { enabled: false },
  };
  await writeFile(path.join(configDir, 'development.yaml'), JSON.stringify(config, null, 2));
  const child = spawn(options.binary, ['--root', options.dir, '--config', 'config', '--env', 'development', 'start'], {
    cwd: options.dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? options.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(conciseLogLine(line));
      if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    });
  }
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.removeListener('exit', killOnExit));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`The Temporal UI server exited before it answered at ${url}:\n${tail.join('\n')}`);
    const answered = await fetch(`${url}/api/v1/settings`, { signal: AbortSignal.timeout(1000) }).then((response) => response.ok, () => false);
    if (answered) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The Temporal UI server did not answer at ${url} within 60 s:\n${tail.join('\n')}`);
    }
    await delay(250);
  }
  options.log?.(`Temporal UI ready at ${url}, in front of ${options.temporalAddress}`);
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, delay(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}
