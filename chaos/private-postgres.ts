// A PostgreSQL cluster of the crash test's own, made with the machine's `initdb` and run with its
// `pg_ctl` on a free port and a data directory in the run's scratch directory: restarting it (the
// fault the crash test injects) disturbs nobody else's databases, as restarting a shared one would.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { getFreePort } from '../src/free-port';
import { findOnPath, isExecutableFile } from '../src/go-tool';
import type { PostgresTarget } from '../src/temporal/temporal-server';

const run = promisify(execFile);

export interface PrivatePostgres {
  target: PostgresTarget;
  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** Stops the cluster as a crash does (`pg_ctl stop -m immediate`: no checkpoint, WAL recovery at the next start), then starts it again. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Where `initdb` and `pg_ctl` are: `PG_BIN`, else Debian's newest `/usr/lib/postgresql/<v>/bin`, else PATH. */
export async function findPostgresBin(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const candidates: string[] = [];
  if (env.PG_BIN) candidates.push(env.PG_BIN);
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  candidates.push(...versions.sort((a, b) => Number(b) - Number(a)).map((version) => path.join('/usr/lib/postgresql', version, 'bin')));
  const onPath = await findOnPath('initdb', env);
  if (onPath) candidates.push(path.dirname(onPath));
  for (const dir of candidates) if ((await isExecutableFile(path.join(dir, 'initdb'))) && (await isExecutableFile(path.join(dir, 'pg_ctl')))) return dir;
  return undefined;
}

/**
 * `initdb` (user postgres, trust on loopback) in `<dir>/data`, then `pg_ctl start` on a free port
 * listening on 127.0.0.1 only. PostgreSQL refuses to run as root: as root, both run as the
 * `postgres` user, who is given `dir` (its parent is made traversable for that user).
 */
export async function startPrivatePostgres(options: { dir: string; bin: string; log?: (line: string) => void }): Promise<PrivatePostgres> {
  const dataDir = path.join(options.dir, 'data');
  const socketDir = path.join(options.dir, 'socket');
  const logFile = path.join(options.dir, 'postgres.log');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(socketDir, { recursive: true });
  await writeFile(logFile, '');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    for (const entry of [options.dir, dataDir, socketDir, logFile]) await chown(entry, uid, gid);
    await chmod(path.dirname(options.dir), 0o711);
  }
  const tool = (name: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(options.bin, name), ...args]) : run(path.join(options.bin, name), args));
  await tool('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await getFreePort();
  // Enough connections for a Temporal server, its SQL tool and the workers' account store at once.
  const serverOptions = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${socketDir} -c max_connections=200`;
  const start = () => tool('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', serverOptions]);
  const stop = (mode: 'immediate' | 'fast') => tool('pg_ctl', ['stop', '-w', '-t', '60', '-D', dataDir, '-m', mode]);
  await start();
  options.log?.(`private PostgreSQL (${path.basename(path.dirname(options.bin))}) on 127.0.0.1:${port}, data in ${dataDir}`);
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let running = true;
  return {
    target: { host: '127.0.0.1', port, user: 'postgres' },
    url,
    async createDatabase(name) {
      const client = new Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async restart() {
      await stop('immediate');
      await start();
    },
    async stop() {
      if (!running) return;
      running = false;
      await stop('fast').catch(() => stop('immediate'));
    },
  };
}
