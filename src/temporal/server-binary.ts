import { promises as fs } from 'node:fs';
import path from 'node:path';
import { billflowCacheDir, errorMessage, findOnPath, goEnv, goInstall, isExecutableFile } from '../go-tool';

/** The Temporal server of docker-compose.yml's `temporalio/server` image, for tests against a real server. */
export const TEMPORAL_SERVER_VERSION = '1.30.1';

const MODULE = 'go.temporal.io/server';
const SCHEMA = path.join('schema', 'postgresql', 'v12');

/** A Temporal server build: the server, its SQL tool, and the PostgreSQL schema they come with. */
export interface TemporalServerBuild {
  version: string;
  server: string;
  sqlTool: string;
  /** `…/schema/postgresql/v12`, holding `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
}

export interface FindTemporalServerOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Build with Go when nothing is cached (default true). */
  build?: boolean;
  progressIntervalMs?: number;
}

/** Nothing cached and nothing could be built. */
export class TemporalServerNotFoundError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      [
        `Could not find or build the Temporal server v${TEMPORAL_SERVER_VERSION} and its SQL tool.`,
        `Install Go >= 1.24 (https://go.dev/dl/) so billflow can build them (a few minutes, once), or run against the dev server (TEMPORAL_TEST_SERVER=dev).`,
        'What was tried:',
        ...attempts.map((attempt) => `  - ${attempt}`),
      ].join('\n'),
    );
    this.name = 'TemporalServerNotFoundError';
  }
}

/** Where billflow keeps the server build: `$BILLFLOW_CACHE_DIR/temporal-server/v1.30.1`. */
export function cachedTemporalServerDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(billflowCacheDir(env), 'temporal-server', `v${TEMPORAL_SERVER_VERSION}`);
}

function buildIn(dir: string): TemporalServerBuild {
  return {
    version: TEMPORAL_SERVER_VERSION,
    server: path.join(dir, 'temporal-server'),
    sqlTool: path.join(dir, 'temporal-sql-tool'),
    schemaDir: path.join(dir, SCHEMA),
  };
}

async function isComplete(build: TemporalServerBuild): Promise<boolean> {
  if (!(await isExecutableFile(build.server)) || !(await isExecutableFile(build.sqlTool))) return false;
  return fs.stat(path.join(build.schemaDir, 'visibility', 'versioned')).then(
    (stat) => stat.isDirectory(),
    () => false,
  );
}

/**
 * The cached server build, else a fresh one: `go install` of the server and `temporal-sql-tool`
 * at the pinned version (CGO off, progress printed), with the schema copied out of Go's module
 * cache so that later runs need no Go at all.
 */
export async function findOrBuildTemporalServer(options: FindTemporalServerOptions = {}): Promise<TemporalServerBuild> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const target = cachedTemporalServerDir(env);
  const cached = buildIn(target);
  if (await isComplete(cached)) {
    log(`Using the cached Temporal server v${TEMPORAL_SERVER_VERSION}: ${target}`);
    return cached;
  }
  const attempts = [`nothing (complete) cached at ${target}`];
  if (options.build === false) throw new TemporalServerNotFoundError([...attempts, 'building was not allowed']);
  const go = await findOnPath('go', env);
  if (!go) throw new TemporalServerNotFoundError([...attempts, 'no `go` on PATH to build it with']);
  try {
    return await goInstall({
      go,
      what: `the Temporal server v${TEMPORAL_SERVER_VERSION} and temporal-sql-tool`,
      packages: [`${MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`],
      target,
      env,
      log,
      progressIntervalMs: options.progressIntervalMs ?? 15_000,
      prepare: async (buildDir) => {
        await fs.rename(path.join(buildDir, 'server'), path.join(buildDir, 'temporal-server'));
        await fs.rename(path.join(buildDir, 'sql'), path.join(buildDir, 'temporal-sql-tool'));
        const moduleDir = path.join(await goEnv(go, 'GOMODCACHE', env), `${MODULE}@v${TEMPORAL_SERVER_VERSION}`);
        await copyWritable(path.join(moduleDir, SCHEMA), path.join(buildDir, SCHEMA));
      },
      finish: async (dir) => {
        const build = buildIn(dir);
        if (!(await isComplete(build))) throw new Error(`go install finished but ${dir} lacks the server, the SQL tool or the schema`);
        return build;
      },
    });
  } catch (error) {
    throw new TemporalServerNotFoundError([...attempts, `building with Go failed: ${errorMessage(error)}`]);
  }
}

/**
 * The Temporal Web UI server, for the browser test against a real server: the version the pinned
 * CLI's dev server embeds (docker-compose's `temporalio/ui` image is older; the test's selectors
 * follow the UI billflow's users see under `npm run dev`).
 */
export const TEMPORAL_UI_VERSION = '2.42.1';

/** `$BILLFLOW_CACHE_DIR/temporal-ui-server/v2.42.1/temporal-ui-server`. */
export function cachedTemporalUiServerPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(billflowCacheDir(env), 'temporal-ui-server', `v${TEMPORAL_UI_VERSION}`, 'temporal-ui-server');
}

/** The cached UI server, else one built with `go install` (about a minute, once). */
export async function findOrBuildTemporalUiServer(options: FindTemporalServerOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const cached = cachedTemporalUiServerPath(env);
  if (await isExecutableFile(cached)) {
    log(`Using the cached Temporal UI server v${TEMPORAL_UI_VERSION}: ${cached}`);
    return cached;
  }
  const attempts = [`nothing cached at ${cached}`];
  if (options.build === false) throw new TemporalServerNotFoundError([...attempts, 'building was not allowed']);
  const go = await findOnPath('go', env);
  if (!go) throw new TemporalServerNotFoundError([...attempts, 'no `go` on PATH to build it with']);
  try {
    return await goInstall({
      go,
      what: `the Temporal UI server v${TEMPORAL_UI_VERSION}`,
      packages: [`github.com/temporalio/ui-server/v2/cmd/server@v${TEMPORAL_UI_VERSION}`],
      target: path.dirname(cached),
      env,
      log,
      progressIntervalMs: options.progressIntervalMs ?? 15_000,
      prepare: (buildDir) => fs.rename(path.join(buildDir, 'server'), path.join(buildDir, 'temporal-ui-server')),
      finish: async () => {
        if (!(await isExecutableFile(cached))) throw new Error(`go install finished but left no binary at ${cached}`);
        return cached;
      },
    });
  } catch (error) {
    throw new TemporalServerNotFoundError([...attempts, `building with Go failed: ${errorMessage(error)}`]);
  }
}

/** Copies a tree out of Go's read-only module cache as ordinary, writable files. */
async function copyWritable(from: string, to: string): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const destination = path.join(to, entry.name);
    if (entry.isDirectory()) await copyWritable(source, destination);
    else {
      await fs.copyFile(source, destination);
      await fs.chmod(destination, 0o644);
    }
  }
}
