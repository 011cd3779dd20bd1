// The Temporal server a crash test runs on: a dev server of its own, the real server (on a given
// PostgreSQL or on a private one the run can restart), or a server already running that it must
// not touch (the test suite's).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TemporalServerBuild } from '../src/temporal/server-binary';
import { dropTemporalDatabases, setupTemporalDatabases, startTemporalServer, type PostgresTarget, type TemporalServerPorts } from '../src/temporal/temporal-server';
import { startTemporal } from '../bench/lib/stack';
import { findPostgresBin, startPrivatePostgres, type PrivatePostgres } from './private-postgres';

/** A running server: SIGKILLed and started again on the same address, its state kept. */
export interface CrashableTemporal {
  address: string;
  /** Resolves when the process ends (never for a server the run did not start). */
  exited: Promise<unknown>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface TemporalTarget {
  kind: string;
  /** False for a server the run did not start: it is never killed. */
  crashable: boolean;
  start(): Promise<CrashableTemporal>;
  /** The private PostgreSQL, when the run made one: the account store goes there, and it can be restarted. */
  postgres?: PrivatePostgres;
  cleanUp(): Promise<void>;
}

export type TemporalChoice =
  | { kind: 'dev'; dir: string; cliPath?: string }
  /** The real server; without `postgres`, on a PostgreSQL of the run's own (initdb in `dir`). */
  | { kind: 'real'; dir: string; build: TemporalServerBuild; postgres?: PostgresTarget }
  | { kind: 'external'; address: string };

export async function temporalTarget(choice: TemporalChoice, log: (line: string) => void): Promise<TemporalTarget> {
  if (choice.kind === 'external') {
    const running: CrashableTemporal = {
      address: choice.address,
      exited: new Promise(() => undefined),
      kill: () => Promise.reject(new Error(`the Temporal server at ${choice.address} is not the run's own to kill`)),
      stop: async () => undefined,
    };
    return { kind: `Temporal server at ${choice.address}`, crashable: false, start: async () => running, cleanUp: async () => undefined };
  }
  if (choice.kind === 'dev') return devServer(choice);
  return realServer(choice, log);
}

function devServer(choice: { dir: string; cliPath?: string }): TemporalTarget {
  let port: number | undefined;
  return {
    kind: 'Temporal dev server',
    crashable: true,
    async start() {
      const server = await startTemporal({
        dbFile: path.join(choice.dir, 'temporal.db'),
        port,
        cliPath: choice.cliPath,
        logFile: path.join(choice.dir, 'temporal.log'),
        // WAL with synchronous=NORMAL: a commit survives the server's SIGKILL (it is in the OS's hands), just
        // not a power cut; the default rollback journal fsyncs so often that a loaded machine times it out.
        sqlitePragmas: ['journal_mode=wal', 'synchronous=normal'],
      });
      port = Number(server.address.split(':').at(-1));
      return crashable(server.address, server.process, () => server.stop());
    },
    cleanUp: async () => undefined,
  };
}

/** The real server on databases of its own, set up once; every start after the first comes back on the same ports. */
async function realServer(choice: { dir: string; build: TemporalServerBuild; postgres?: PostgresTarget }, log: (line: string) => void): Promise<TemporalTarget> {
  let postgres: PrivatePostgres | undefined;
  if (!choice.postgres) {
    const bin = await findPostgresBin();
    if (!bin) throw new Error('The crash test on the real server needs PostgreSQL of its own: no initdb/pg_ctl found (Debian: apt-get install postgresql; or set PG_BIN)');
    postgres = await startPrivatePostgres({ dir: path.join(choice.dir, 'postgres'), bin, log });
  }
  const target = choice.postgres ?? (postgres as PrivatePostgres).target;
  const base = `billflow_chaos_${process.pid}`;
  const databases = { main: base, visibility: `${base}_visibility` };
  const real = { build: choice.build, postgres: target, databases };
  await setupTemporalDatabases({ ...real, log });
  let ports: TemporalServerPorts | undefined;
  return {
    kind: `Temporal server v${choice.build.version} (PostgreSQL${postgres ? ', private' : ''})`,
    crashable: true,
    postgres,
    async start() {
      const server = await startTemporalServer({ ...real, dir: path.join(choice.dir, 'temporal-server'), ports });
      ports = server.ports;
      return crashable(server.address, server.process, () => server.stop());
    },
    async cleanUp() {
      if (postgres) await postgres.stop();
      else await dropTemporalDatabases(real).catch(() => undefined);
    },
  };
}

function crashable(address: string, child: ChildProcess, stop: () => Promise<void>): CrashableTemporal {
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
    else child.once('exit', resolve);
  });
  return {
    address,
    exited,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    stop,
  };
}
