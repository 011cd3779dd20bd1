import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingEvent } from '../../src/core/events';
import { DeadLetterStore, type RecordedDelivery } from '../../src/store/dead-letter-store';
import { VerificationFailureLog } from '../../src/store/verification-failures';
import { testBackends, type TestDatabase } from '../support/database';

function delivery(body: string): RecordedDelivery {
  return { bodyBase64: Buffer.from(body).toString('base64'), headers: { 'content-type': 'application/json' }, query: {}, ip: '127.0.0.1' };
}

function paymentEvent(): BillingEvent {
  return {
    provider: 'gocardless',
    id: `EV${randomUUID()}`,
    type: 'payments.failed',
    kind: 'payment.failed',
    occurredAt: new Date().toISOString(),
    references: { payment: `PM${randomUUID()}` },
    facts: {},
    details: {},
    payload: { nested: { deep: [1, 2, 3] } },
  };
}

for (const backend of testBackends) {
  describe.skipIf(backend.unavailable)(`dead letters on ${backend.kind}`, () => {
    let testDatabase: TestDatabase;
    let store: DeadLetterStore;

    beforeAll(async () => {
      testDatabase = await backend.open();
      store = new DeadLetterStore(testDatabase.database, { retentionDays: 30 });
    });

    afterAll(async () => {
      await testDatabase?.drop();
    });

    it('keeps a delivery byte for byte with its reason, once however often it comes', async () => {
      const body = `{"events":[{"id":"EV${randomUUID()}","created_at":42}]}`;
      const first = await store.record({ provider: 'gocardless', kind: 'unusable_entries', reason: 'events[0]: created_at is not a time', delivery: delivery(body), eventIds: ['EV1'] });
      const again = await store.record({ provider: 'gocardless', kind: 'unusable_entries', reason: 'events[0]: created_at is not a time', delivery: delivery(body), eventIds: ['EV1'] });
      expect(first.created).toBe(true);
      expect(again).toEqual({ id: first.id, created: false });

      const kept = await store.get(first.id);
      expect(kept).toMatchObject({ id: first.id, provider: 'gocardless', kind: 'unusable_entries', holds: 'delivery', eventIds: ['EV1'], timesSeen: 2, replays: 0 });
      expect(Buffer.from(kept!.delivery!.bodyBase64, 'base64').toString()).toBe(body);
      expect(kept!.delivery!.headers).toEqual({ 'content-type': 'application/json' });
      expect(kept!.event).toBeUndefined();
    });

    it('keeps an event, lists newest first with filters and pages, and records replays', async () => {
      const event = paymentEvent();
      const { id } = await store.record({ provider: 'gocardless', kind: 'unresolved_payment', reason: 'belongs to no subscription', event });
      const other = await store.record({ provider: 'stripe', kind: 'refused_event', reason: 'No such invoice', event: { ...paymentEvent(), provider: 'stripe' }, workflowId: 'stripe:subscription:sub_1' });

      expect((await store.get(id))?.event).toEqual(event);
      const all = await store.list();
      expect(all.map((entry) => entry.id).slice(0, 2)).toEqual([other.id, id]);
      expect((await store.list({ provider: 'stripe' })).every((entry) => entry.provider === 'stripe')).toBe(true);
      expect((await store.list({ kind: 'unresolved_payment' })).map((entry) => entry.id)).toContain(id);
      expect((await store.list({ before: other.id, limit: 1 })).map((entry) => entry.id)).toEqual([id]);
      expect((await store.list({ provider: 'stripe' }))[0]).toMatchObject({ holds: 'event', workflowId: 'stripe:subscription:sub_1', eventIds: [expect.any(String)] });

      await store.markReplayed(id, 'accepted 1');
      expect(await store.get(id)).toMatchObject({ replays: 1, lastReplayOutcome: 'accepted 1', lastReplayedAt: expect.any(String) });
    });

    it('forgets what was not seen again within the retention, on the next one recorded', async () => {
      const { id } = await store.record({ provider: 'recurly', kind: 'unencodable_payload', reason: 'too deep', delivery: delivery(`<old>${randomUUID()}</old>`) });
      await testDatabase.database.query(`UPDATE dead_letters SET last_seen_at = now() - interval '31 days' WHERE id = $1`, [id]);
      await store.record({ provider: 'recurly', kind: 'unencodable_payload', reason: 'too deep', delivery: delivery(`<new>${randomUUID()}</new>`) });
      expect(await store.get(id)).toBeUndefined();
    });

    it('refuses a record holding neither a delivery nor an event, and finds nothing under an id that is not one', async () => {
      await expect(store.record({ provider: 'stripe', kind: 'refused_event', reason: 'x' })).rejects.toThrow(/either a delivery or an event/);
      expect(await store.get('not-an-id')).toBeUndefined();
      expect(await store.get('999999999')).toBeUndefined();
    });

    it('counts verification failures for good and keeps only the latest ones', async () => {
      const log = new VerificationFailureLog(testDatabase.database, { kept: 3 });
      for (let attempt = 0; attempt < 5; attempt++) {
        const body = `forged ${attempt}`;
        await log.record({
          provider: 'stripe',
          reason: `timestamp outside the tolerance (${300 + attempt} s)`,
          status: 400,
          size: body.length,
          bodySha256: createHash('sha256').update(body).digest('hex'),
          headers: { 'stripe-signature': '[redacted]' },
          ip: '203.0.113.7',
        });
      }
      const { counts, latest } = await log.summary();
      expect(counts).toEqual([{ provider: 'stripe', reason: 'timestamp outside the tolerance (N s)', count: 5, lastAt: expect.any(String) }]);
      expect(latest.map((failure) => failure.reason)).toEqual([4, 3, 2].map((attempt) => `timestamp outside the tolerance (${300 + attempt} s)`));
      expect(latest[0]).toMatchObject({ status: 400, size: 8, ip: '203.0.113.7', headers: { 'stripe-signature': '[redacted]' } });
    });
  });
}
