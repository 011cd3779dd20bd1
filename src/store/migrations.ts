import type { Database } from './queryable';

export interface Migration {
  version: number;
  name: string;
  /** Run one by one: the embedded database's parameterised protocol takes one statement at a time. */
  statements: string[];
}

/** Append only: a migration that has run somewhere is never edited, a new one follows it. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'accounts and their history',
    statements: [
      `CREATE TABLE accounts (
        provider text NOT NULL,
        customer_id text NOT NULL,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
        reason text,
        changed_at timestamptz NOT NULL DEFAULT now(),
        usage_period text,
        usage_reset_at timestamptz,
        PRIMARY KEY (provider, customer_id)
      )`,
      `CREATE TABLE account_changes (
        sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        provider text NOT NULL,
        customer_id text NOT NULL,
        action text NOT NULL CHECK (action IN ('suspend', 'reinstate', 'reset_usage', 'end_access')),
        operation_key text NOT NULL,
        event_id text NOT NULL,
        reason text NOT NULL,
        period_key text,
        status_before text NOT NULL,
        status_after text NOT NULL,
        changed boolean NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (provider, customer_id) REFERENCES accounts (provider, customer_id),
        UNIQUE (provider, customer_id, action, operation_key)
      )`,
      `COMMENT ON COLUMN account_changes.operation_key IS
        'What makes the action happen once: the event id, or the billing period for a usage reset'`,
    ],
  },
  {
    version: 2,
    name: 'paused accounts, access, and changes that only record',
    statements: [
      // A paused subscription is neither active nor suspended; whether it keeps access is the merchant's setting.
      'ALTER TABLE accounts DROP CONSTRAINT accounts_status_check',
      `ALTER TABLE accounts ADD CONSTRAINT accounts_status_check CHECK (status IN ('active', 'suspended', 'closed', 'paused'))`,
      'ALTER TABLE accounts ADD COLUMN access boolean NOT NULL DEFAULT true',
      `UPDATE accounts SET access = (status = 'active')`,
      'ALTER TABLE account_changes DROP CONSTRAINT account_changes_action_check',
      `ALTER TABLE account_changes ADD CONSTRAINT account_changes_action_check
        CHECK (action IN ('suspend', 'reinstate', 'reset_usage', 'end_access', 'pause', 'resume', 'record'))`,
    ],
  },
  {
    version: 3,
    name: 'dead letters and verification failures',
    statements: [
      `CREATE TABLE dead_letters (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        provider text NOT NULL,
        kind text NOT NULL,
        reason text NOT NULL,
        dedupe_key text NOT NULL,
        event_ids jsonb NOT NULL DEFAULT '[]',
        workflow_id text,
        request jsonb,
        body bytea,
        event jsonb,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        times_seen integer NOT NULL DEFAULT 1,
        replays integer NOT NULL DEFAULT 0,
        last_replayed_at timestamptz,
        last_replay_outcome text,
        UNIQUE (provider, kind, dedupe_key)
      )`,
      'CREATE INDEX dead_letters_last_seen ON dead_letters (last_seen_at)',
      `COMMENT ON COLUMN dead_letters.dedupe_key IS
        'What makes a repeat the same dead letter: the body hash of a delivery, the event id of an event'`,
      `CREATE TABLE verification_failures (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        provider text NOT NULL,
        reason text NOT NULL,
        status integer NOT NULL,
        size integer NOT NULL,
        body_sha256 text NOT NULL,
        headers jsonb NOT NULL,
        ip text,
        at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE verification_failure_counts (
        provider text NOT NULL,
        reason text NOT NULL,
        count bigint NOT NULL DEFAULT 0,
        last_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, reason)
      )`,
    ],
  },
];

/**
 * Applies the migrations not yet recorded in `schema_migrations`, all in one transaction. The
 * advisory lock makes a second process that opens the database at the same moment wait, then
 * find everything applied.
 */
export async function migrate(database: Database, list: Migration[] = migrations): Promise<number[]> {
  return database.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('billflow.schema_migrations'))`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const pending = list.filter((migration) => !applied.has(migration.version)).sort((a, b) => a.version - b.version);
    for (const migration of pending) {
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    return pending.map((migration) => migration.version);
  });
}
