import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore, type AccountChangeInput } from '../../src/store/account-store';
import { createAccountActivities } from '../../activities/accounts';
import { openDatabase, type Database } from '../../src/store/database';
import { migrate, migrations } from '../../src/store/migrations';
import { createPostgresSchema, makeTempDir, testBackends, testDatabaseUrl, type TestDatabase } from '../support/database';

/** A customer no other test touches, so that one database serves the whole suite. */
function change(overrides: Partial<AccountChangeInput> = {}): AccountChangeInput {
  return {
    provider: 'gocardless',
    customerId: `CU${randomUUID()}`,
    reason: 'mandates.cancelled',
    eventId: `EV${randomUUID()}`,
    ...overrides,
  };
}

// The same suite on each back-end; PostgreSQL only when BILLFLOW_TEST_DATABASE_URL is set.
for (const backend of testBackends) {
  describe.skipIf(backend.unavailable)(`account store on ${backend.kind}`, () => {
    let testDatabase: TestDatabase;
    let store: AccountStore;

    beforeAll(async () => {
      testDatabase = await backend.open();
      store = new AccountStore(testDatabase.database);
    });

    afterAll(async () => {
      await testDatabase?.drop();
    });

    it('opens the back-end it was asked for', () => {
      expect(testDatabase.database.kind).toBe(backend.kind);
    });

    it('knows nothing of a customer it has never seen', async () => {
      expect(await store.get('gocardless', 'CU-never-seen')).toBeUndefined();
    });

    it('suspends an account and records why, when and for which event', async () => {
      const input = change();
      const before = Date.now();
      expect(await store.suspend(input)).toEqual({ changed: true });

      const account = await store.get('gocardless', input.customerId);
      expect(account).toMatchObject({
        provider: 'gocardless',
        customerId: input.customerId,
        status: 'suspended',
        reason: 'mandates.cancelled',
        usagePeriod: null,
      });
      expect(Date.parse(account!.changedAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(account!.history).toEqual([
        {
          action: 'suspend',
          reason: 'mandates.cancelled',
          eventId: input.eventId,
          periodKey: null,
          statusBefore: 'active',
          statusAfter: 'suspended',
          changed: true,
          at: account!.changedAt,
        },
      ]);
    });

    it('reinstates a suspended account and keeps both steps in its history', async () => {
      const suspension = change();
      await store.suspend(suspension);
      const reinstatement = change({ customerId: suspension.customerId, reason: 'mandates.reinstated' });
      expect(await store.reinstate(reinstatement)).toEqual({ changed: true });

      const account = await store.get('gocardless', suspension.customerId);
      expect(account?.status).toBe('active');
      expect(account?.reason).toBe('mandates.reinstated');
      expect(account?.history.map((entry) => [entry.action, entry.eventId, entry.statusAfter])).toEqual([
        ['suspend', suspension.eventId, 'suspended'],
        ['reinstate', reinstatement.eventId, 'active'],
      ]);
    });

    it('changes nothing and records nothing when the same event suspends again', async () => {
      const input = change();
      await store.suspend(input);
      const first = await store.get('gocardless', input.customerId);

      expect(await store.suspend(input)).toEqual({ changed: false });
      expect(await store.suspend({ ...input, reason: 'a different reason on redelivery' })).toEqual({ changed: false });
      expect(await store.get('gocardless', input.customerId)).toEqual(first);
    });

    it('applies a burst of concurrent duplicates exactly once', async () => {
      const input = change();
      const results = await Promise.all(Array.from({ length: 12 }, () => store.suspend(input)));
      expect(results.filter((result) => result.changed)).toHaveLength(1);
      expect((await store.get('gocardless', input.customerId))?.history).toHaveLength(1);
    });

    it('serialises concurrent different events on one account: one suspends, the rest find it suspended', async () => {
      const customerId = `CU${randomUUID()}`;
      // The account exists beforehand, so no insert of its row happens to serialise the racers.
      await store.reinstate(change({ customerId }));
      const inputs = Array.from({ length: 6 }, () => change({ customerId }));
      const results = await Promise.all(inputs.map((input) => store.suspend(input)));
      expect(results.filter((result) => result.changed)).toHaveLength(1);

      const account = await store.get('gocardless', customerId);
      expect(account?.status).toBe('suspended');
      const suspensions = account?.history.filter((entry) => entry.action === 'suspend') ?? [];
      expect(suspensions).toHaveLength(6);
      expect(suspensions.filter((entry) => entry.changed)).toHaveLength(1);
      expect(suspensions.slice(1).every((entry) => entry.statusBefore === 'suspended')).toBe(true);
    });

    it('never lets a late retry of an old suspension undo a later reinstatement', async () => {
      const suspension = change();
      await store.suspend(suspension);
      await store.reinstate(change({ customerId: suspension.customerId, reason: 'mandates.reinstated' }));

      expect(await store.suspend(suspension)).toEqual({ changed: false });
      expect((await store.get('gocardless', suspension.customerId))?.status).toBe('active');
    });

    it('records a reinstatement of an account that was never suspended, without changing it', async () => {
      const input = change({ reason: 'mandates.reinstated' });
      expect(await store.reinstate(input)).toEqual({ changed: false });
      const account = await store.get('gocardless', input.customerId);
      expect(account?.status).toBe('active');
      expect(account?.history).toMatchObject([{ action: 'reinstate', changed: false, statusBefore: 'active', statusAfter: 'active' }]);
    });

    it('keeps the same customer id apart across providers', async () => {
      const input = change();
      await store.suspend(input);
      expect(await store.get('recurly', input.customerId)).toBeUndefined();
      expect(await store.suspend({ ...input, provider: 'recurly' })).toEqual({ changed: true });
    });

    it('ends access for good: a closed account is neither suspended nor reinstated', async () => {
      const input = change({ reason: 'subscriptions.finished' });
      expect(await store.endAccess(input)).toEqual({ changed: true });
      expect(await store.endAccess(input)).toEqual({ changed: false });
      expect(await store.reinstate(change({ customerId: input.customerId }))).toEqual({ changed: false });
      expect(await store.suspend(change({ customerId: input.customerId }))).toEqual({ changed: false });
      expect((await store.get('gocardless', input.customerId))?.status).toBe('closed');
    });

    it('pauses an active account (access as the setting says), resumes it, and leaves a suspended one alone', async () => {
      const customerId = `CU${randomUUID()}`;
      expect(await store.pause({ ...change({ customerId, reason: 'subscriptions.paused' }), access: false })).toEqual({ changed: true });
      expect(await store.get('gocardless', customerId)).toMatchObject({ status: 'paused', access: false, reason: 'subscriptions.paused' });
      expect(await store.resume(change({ customerId, reason: 'subscriptions.resumed' }))).toEqual({ changed: true });
      expect(await store.get('gocardless', customerId)).toMatchObject({ status: 'active', access: true });
      expect(await store.pause({ ...change({ customerId }), access: true })).toEqual({ changed: true });
      expect(await store.get('gocardless', customerId)).toMatchObject({ status: 'paused', access: true });

      const suspended = change();
      await store.suspend(suspended);
      expect(await store.pause({ ...change({ customerId: suspended.customerId }), access: false })).toEqual({ changed: false });
      expect(await store.resume(change({ customerId: suspended.customerId }))).toEqual({ changed: false });
      expect(await store.get('gocardless', suspended.customerId)).toMatchObject({ status: 'suspended', access: false });
    });

    it('reinstates only an account suspended for the reason asked, and records events without changing the account', async () => {
      const customerId = `CU${randomUUID()}`;
      await store.suspend(change({ customerId, reason: 'dunning exhausted for IN1' }));
      expect(await store.reinstate({ ...change({ customerId, reason: 'dispute won' }), onlyIfSuspendedFor: 'chargeback' })).toEqual({ changed: false });
      expect(await store.record(change({ customerId, reason: 'refund paid' }))).toEqual({ changed: false });
      const account = await store.get('gocardless', customerId);
      expect(account).toMatchObject({ status: 'suspended', reason: 'dunning exhausted for IN1' });
      expect(account?.history.map((entry) => [entry.action, entry.reason])).toEqual([
        ['suspend', 'dunning exhausted for IN1'],
        ['reinstate', 'dispute won'],
        ['record', 'refund paid'],
      ]);

      const chargedBack = `CU${randomUUID()}`;
      await store.suspend(change({ customerId: chargedBack, reason: 'chargeback' }));
      expect(await store.reinstate({ ...change({ customerId: chargedBack, reason: 'dispute won' }), onlyIfSuspendedFor: 'chargeback' })).toEqual({ changed: true });
    });

    it('a chargeback takes over a dunning suspension, so the invoice paid (reinstating only for dunning) leaves the account suspended', async () => {
      const customerId = `CU${randomUUID()}`;
      await store.suspend(change({ customerId, reason: 'dunning exhausted for IN1' }));
      // Without takeOver a second suspension changes nothing; with it, the reason becomes the chargeback's.
      expect(await store.suspend(change({ customerId, reason: 'mandates.cancelled' }))).toEqual({ changed: false });
      expect(await store.suspend({ ...change({ customerId, reason: 'chargeback' }), takeOver: true })).toEqual({ changed: true });
      expect(await store.suspend({ ...change({ customerId, reason: 'chargeback' }), takeOver: true })).toEqual({ changed: false });
      expect(await store.reinstate({ ...change({ customerId, reason: 'payment received for IN1' }), onlyIfSuspendedFor: 'dunning exhausted' })).toEqual({ changed: false });
      expect(await store.get('gocardless', customerId)).toMatchObject({ status: 'suspended', reason: 'chargeback', access: false });
      expect((await store.get('gocardless', customerId))?.history.map((entry) => [entry.action, entry.reason, entry.statusBefore, entry.statusAfter, entry.changed])).toEqual([
        ['suspend', 'dunning exhausted for IN1', 'active', 'suspended', true],
        ['suspend', 'mandates.cancelled', 'suspended', 'suspended', false],
        ['suspend', 'chargeback', 'suspended', 'suspended', true],
        ['suspend', 'chargeback', 'suspended', 'suspended', false],
        ['reinstate', 'payment received for IN1', 'suspended', 'suspended', false],
      ]);

      // A reason that begins with the one asked for, and a space, is that reason: `dunning exhausted for IN2`.
      const unpaid = `CU${randomUUID()}`;
      await store.suspend(change({ customerId: unpaid, reason: 'dunning exhausted for IN2' }));
      expect(await store.reinstate({ ...change({ customerId: unpaid, reason: 'payment received for IN2' }), onlyIfSuspendedFor: 'dunning exhausted' })).toEqual({ changed: true });
      // A takeOver of an active account is a plain suspension.
      expect(await store.suspend({ ...change({ customerId: unpaid, reason: 'chargeback' }), takeOver: true })).toEqual({ changed: true });
    });

    it('resets usage once per billing period, whichever events announce it', async () => {
      const customerId = `CU${randomUUID()}`;
      const renewal = { ...change({ customerId, reason: 'subscriptions.payment_created' }), periodKey: '2026-01' };
      expect(await store.resetUsage(renewal)).toEqual({ changed: true });
      expect(await store.resetUsage({ ...renewal, eventId: `EV${randomUUID()}` })).toEqual({ changed: false });
      expect(await store.resetUsage({ ...renewal, eventId: `EV${randomUUID()}`, periodKey: '2026-02' })).toEqual({ changed: true });

      const account = await store.get('gocardless', customerId);
      expect(account?.usagePeriod).toBe('2026-02');
      expect(account?.status).toBe('active');
      expect(account?.history.map((entry) => [entry.periodKey, entry.changed])).toEqual([
        ['2026-01', true],
        ['2026-02', true],
      ]);
    });

    it('serves the activities, which refuse a change without an event id for good', async () => {
      const activities = createAccountActivities(store);
      const input = change();
      expect(await activities.suspendAccount(input)).toEqual({ changed: true, eventId: input.eventId });
      expect(await activities.suspendAccount(input)).toEqual({ changed: false, eventId: input.eventId });
      const reinstatement = { ...input, eventId: `EV${randomUUID()}` };
      expect(await activities.reinstateAccount(reinstatement)).toEqual({ changed: true, eventId: reinstatement.eventId });
      await expect(activities.suspendAccount({ ...input, eventId: '' })).rejects.toMatchObject({
        nonRetryable: true,
        type: 'invalid_account_change',
      });
    });

    it('runs the migrations again without effect and without touching the data', async () => {
      const input = change();
      await store.suspend(input);
      expect(await migrate(testDatabase.database)).toEqual([]);
      const applied = await testDatabase.database.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(applied.map((row) => row.version)).toEqual(migrations.map((migration) => migration.version));
      expect((await store.get('gocardless', input.customerId))?.status).toBe('suspended');
    });

    it('rolls a failed transaction back entirely', async () => {
      const database = testDatabase.database;
      const customerId = `CU${randomUUID()}`;
      await expect(
        database.transaction(async (tx) => {
          await tx.query('INSERT INTO accounts (provider, customer_id) VALUES ($1, $2)', ['gocardless', customerId]);
          await tx.query('INSERT INTO accounts (provider, customer_id, status) VALUES ($1, $2, $3)', ['gocardless', `${customerId}-2`, 'bogus']);
        }),
      ).rejects.toThrow(/check constraint/);
      expect(await store.get('gocardless', customerId)).toBeUndefined();
    });
  });
}

describe('embedded account store on disk', () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps accounts across close and reopen, and migrates only once', async () => {
    dataDir = await makeTempDir();
    const input = change();
    const first = await openDatabase({ dataDir });
    await new AccountStore(first).suspend(input);
    await first.close();

    const second = await openDatabase({ dataDir });
    try {
      const account = await new AccountStore(second).get('gocardless', input.customerId);
      expect(account?.status).toBe('suspended');
      expect(account?.history).toHaveLength(1);
      expect(await second.query('SELECT version FROM schema_migrations')).toHaveLength(migrations.length);
      // Still idempotent after the restart: the event is remembered, not just the status.
      expect(await new AccountStore(second).suspend(input)).toEqual({ changed: false });
    } finally {
      await second.close();
    }
  });
});

describe.skipIf(testDatabaseUrl === undefined)('PostgreSQL opened by several processes at once', () => {
  it('migrates a fresh schema once while four openers race', async () => {
    const schema = await createPostgresSchema(testDatabaseUrl!);
    const opened: Database[] = [];
    try {
      opened.push(...(await Promise.all(Array.from({ length: 4 }, () => openDatabase({ databaseUrl: schema.url })))));
      const applied = await opened[0]!.query<{ version: number }>('SELECT version FROM schema_migrations');
      expect(applied).toHaveLength(migrations.length);

      const input = change();
      const results = await Promise.all(opened.map((database) => new AccountStore(database).suspend(input)));
      expect(results.filter((result) => result.changed)).toHaveLength(1);
    } finally {
      await Promise.all(opened.map((database) => database.close()));
      await schema.drop();
    }
  });
});

describe.skipIf(!testDatabaseUrl)('account store on PostgreSQL, its connection broken mid-transaction', () => {
  it('fails that transaction (no crash) and carries on with a fresh connection', async () => {
    const schema = await createPostgresSchema(testDatabaseUrl as string);
    const database = await openDatabase({ databaseUrl: schema.url });
    const killer = new Client({ connectionString: testDatabaseUrl });
    await killer.connect();
    try {
      const transaction = database.transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // As when PostgreSQL restarts: the server ends the connection between two statements.
        await killer.query('SELECT pg_terminate_backend($1)', [row?.pid]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await tx.query('SELECT 1');
      });
      await expect(transaction).rejects.toThrow();
      expect(await database.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await killer.end();
      await database.close();
      await schema.drop();
    }
  });
});
