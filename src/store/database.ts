import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { migrate } from './migrations';
import type { Database, Queryable } from './queryable';

export type { Database, Queryable } from './queryable';

export interface DatabaseOptions {
  /** A PostgreSQL connection string; without one the embedded database is used. */
  databaseUrl?: string;
  /** Where the embedded database keeps its files (`<dataDir>/accounts`); in memory when absent. */
  dataDir?: string;
}

/** Opens the account database and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = options.databaseUrl ? openPostgres(options.databaseUrl) : await openEmbedded(options.dataDir);
  try {
    await migrate(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

function openPostgres(connectionString: string): Database {
  const pool = new Pool({ connectionString });
  // A connection that breaks while idle is dropped by the pool and replaced on the next query;
  // without a listener the 'error' event would crash the worker instead.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    async query<Row>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as Row[];
    },
    async transaction<T>(work: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      let broken: Error | undefined;
      // The pool listens only to idle clients: a connection that breaks between two statements of a
      // transaction (PostgreSQL restarting) emits 'error' here, which would crash the worker. The
      // next statement fails instead, and the client is destroyed on release.
      const onError = (error: Error) => (broken = error);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as Row[],
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        // A client whose rollback failed is in an unknown state: destroy it rather than reuse it.
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

async function openEmbedded(dataDir: string | undefined): Promise<Database> {
  let directory: string | undefined;
  if (dataDir !== undefined) {
    directory = path.join(dataDir, 'accounts');
    await mkdir(directory, { recursive: true });
  }
  const pglite = await PGlite.create(directory);
  return {
    kind: 'embedded',
    async query<Row>(sql: string, params?: unknown[]) {
      return (await pglite.query<Row>(sql, params)).rows;
    },
    transaction<T>(work: (tx: Queryable) => Promise<T>) {
      return pglite.transaction((tx) =>
        work({ query: async <Row>(sql: string, params?: unknown[]) => (await tx.query<Row>(sql, params)).rows }),
      );
    },
    close: () => pglite.close(),
  };
}
