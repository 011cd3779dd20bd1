import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore } from '../../src/store/account-store';
import { loadConfig } from '../../src/config';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import { createPostgresSchema, openEmbeddedTestDatabase, openPostgresTestDatabase, testBackends, testDatabaseUrl, type TestDatabase } from '../support/database';

const silent = pino({ level: 'silent' });
const token = `test-token-${randomUUID()}`;

/** A receiver on a free port; Temporal is never called by these routes, so none needs to run. */
function receiverConfig(environment: Record<string, string> = {}) {
  return loadConfig({ PORT: '0', HOST: '127.0.0.1', TEMPORAL_ADDRESS: '127.0.0.1:1', ...environment });
}

function lookUp(receiver: RunningReceiver, provider: string, customerId: string, authorization?: string) {
  return fetch(`${receiver.url}/accounts/${provider}/${encodeURIComponent(customerId)}`, {
    headers: authorization === undefined ? {} : { authorization },
  });
}

// The same suite on each back-end; PostgreSQL only when BILLFLOW_TEST_DATABASE_URL is set.
for (const backend of testBackends) {
  describe.skipIf(backend.unavailable)(`GET /accounts/:provider/:customerId on ${backend.kind}`, () => {
    let testDatabase: TestDatabase;
    let store: AccountStore;
    let receiver: RunningReceiver;

    beforeAll(async () => {
      if (backend.kind === 'embedded') {
        // One process owns the embedded database: the receiver is handed the worker's store.
        testDatabase = await openEmbeddedTestDatabase();
        store = new AccountStore(testDatabase.database);
        receiver = await startReceiver(receiverConfig({ BILLFLOW_API_TOKEN: token }), silent, { accounts: store });
      } else {
        // PostgreSQL is shared: the receiver opens its own connection from DATABASE_URL.
        const postgres = await openPostgresTestDatabase(testDatabaseUrl!);
        testDatabase = postgres;
        store = new AccountStore(postgres.database);
        receiver = await startReceiver(receiverConfig({ BILLFLOW_API_TOKEN: token, DATABASE_URL: postgres.url }), silent);
      }
    });

    afterAll(async () => {
      await receiver?.close();
      await testDatabase?.drop();
    });

    it('answers 401 without a token, with a wrong one, or with another scheme', async () => {
      for (const authorization of [undefined, 'Bearer not-the-token', `Basic ${token}`, token, `Bearer ${token}x`]) {
        const answer = await lookUp(receiver, 'gocardless', 'CU1', authorization);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="billflow"');
        expect(await answer.json()).toEqual({ error: 'unauthorized' });
      }
    });

    it('answers 404 for a customer it has recorded nothing about, and for an unknown provider', async () => {
      const unknown = await lookUp(receiver, 'gocardless', 'CU-never-seen', `Bearer ${token}`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ error: 'no account recorded for this customer' });
      expect((await lookUp(receiver, 'paypal', 'CU1', `Bearer ${token}`)).status).toBe(404);
    });

    it('answers the status, reason, usage period and history of changes', async () => {
      const customerId = `CU:${randomUUID()}/with odd characters`;
      const base = { provider: 'gocardless' as const, customerId };
      await store.suspend({ ...base, reason: 'mandates.cancelled', eventId: 'EV1' });
      await store.suspend({ ...base, reason: 'mandates.cancelled', eventId: 'EV1' });
      await store.reinstate({ ...base, reason: 'mandates.reinstated', eventId: 'EV2' });
      await store.resetUsage({ ...base, reason: 'subscriptions.payment_created', eventId: 'EV3', periodKey: '2026-03' });

      const answer = await lookUp(receiver, 'gocardless', customerId, `Bearer ${token}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const account = (await answer.json()) as Record<string, unknown>;
      expect(account).toMatchObject({
        provider: 'gocardless',
        customerId,
        status: 'active',
        reason: 'mandates.reinstated',
        usagePeriod: '2026-03',
        changedAt: expect.any(String),
      });
      expect((account.history as { action: string; eventId: string; statusAfter: string }[]).map((change) => [change.action, change.eventId, change.statusAfter])).toEqual([
        ['suspend', 'EV1', 'suspended'],
        ['reinstate', 'EV2', 'active'],
        ['reset_usage', 'EV3', 'active'],
      ]);
    });
  });
}

describe('GET /accounts fails closed', () => {
  let testDatabase: TestDatabase;

  beforeAll(async () => {
    testDatabase = await openEmbeddedTestDatabase();
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('answers 503 when no API token is configured, even to a request bearing one', async () => {
    const receiver = await startReceiver(receiverConfig(), silent, { accounts: new AccountStore(testDatabase.database) });
    try {
      const answer = await lookUp(receiver, 'gocardless', 'CU1', `Bearer ${token}`);
      expect(answer.status).toBe(503);
      expect(await answer.json()).toEqual({ error: 'account API not configured: set BILLFLOW_API_TOKEN' });
    } finally {
      await receiver.close();
    }
  });

  it('answers 503 when this process has no account store (embedded database owned by the worker)', async () => {
    const receiver = await startReceiver(receiverConfig({ BILLFLOW_API_TOKEN: token }), silent);
    try {
      const answer = await lookUp(receiver, 'gocardless', 'CU1', `Bearer ${token}`);
      expect(answer.status).toBe(503);
      expect(await answer.json()).toEqual({ error: 'account store not available in this process' });
    } finally {
      await receiver.close();
    }
  });

  it('refuses a short API token at start-up', () => {
    expect(() => receiverConfig({ BILLFLOW_API_TOKEN: 'short' })).toThrow(/BILLFLOW_API_TOKEN: must be at least 16 characters/);
  });

  it.skipIf(testDatabaseUrl === undefined)('opens PostgreSQL from DATABASE_URL only when the API is on, and closes it', async () => {
    const schema = await createPostgresSchema(testDatabaseUrl!);
    try {
      const receiver = await startReceiver(receiverConfig({ BILLFLOW_API_TOKEN: token, DATABASE_URL: schema.url }), silent);
      const answer = await lookUp(receiver, 'stripe', 'cus_1', `Bearer ${token}`);
      await receiver.close();
      expect(answer.status).toBe(404);
    } finally {
      await schema.drop();
    }
  });
});
