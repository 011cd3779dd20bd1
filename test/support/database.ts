import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase, type Database } from '../../src/store/database';

/** A PostgreSQL server to test against as well, e.g. postgres://postgres@127.0.0.1:5432/test. */
export const testDatabaseUrl = process.env.BILLFLOW_TEST_DATABASE_URL || undefined;

/** A database of its own for one suite, and how to get rid of it afterwards. */
export interface TestDatabase {
  database: Database;
  /** Closes `database` and deletes everything it held. */
  drop(): Promise<void>;
}

export interface TestBackend {
  kind: Database['kind'];
  /** True when this back-end cannot run here (no PostgreSQL configured). */
  unavailable: boolean;
  open(): Promise<TestDatabase>;
}

export const testBackends: TestBackend[] = [
  { kind: 'embedded', unavailable: false, open: () => openEmbeddedTestDatabase() },
  { kind: 'postgres', unavailable: testDatabaseUrl === undefined, open: () => openPostgresTestDatabase(requiredUrl()) },
];

/** An embedded database kept in a fresh temporary directory. */
export async function openEmbeddedTestDatabase(): Promise<TestDatabase & { dataDir: string }> {
  const dataDir = await makeTempDir();
  const database = await openDatabase({ dataDir });
  return {
    dataDir,
    database,
    drop: async () => {
      await database.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function makeTempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'billflow-test-'));
}

/**
 * A schema of its own on the given server, made the only entry of `search_path` for every
 * connection, so that suites running side by side never see each other's tables.
 */
export async function openPostgresTestDatabase(serverUrl: string): Promise<TestDatabase & { url: string }> {
  const schema = await createPostgresSchema(serverUrl);
  const database = await openDatabase({ databaseUrl: schema.url });
  return {
    url: schema.url,
    database,
    drop: async () => {
      await database.close().catch(() => undefined);
      await schema.drop();
    },
  };
}

/** A fresh, empty schema, not yet opened; `url` connects with it as the search path. */
export async function createPostgresSchema(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `billflow_test_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE SCHEMA ${schema}`));
  return {
    url: withSearchPath(serverUrl, schema),
    drop: async () => {
      await withClient(serverUrl, (client) => client.query(`DROP SCHEMA ${schema} CASCADE`));
    },
  };
}

function withSearchPath(serverUrl: string, schema: string): string {
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function requiredUrl(): string {
  if (!testDatabaseUrl) throw new Error('BILLFLOW_TEST_DATABASE_URL is not set');
  return testDatabaseUrl;
}
