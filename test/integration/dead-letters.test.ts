import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountChangeInput, SuspendInput } from '../../activities/accounts';
import type { DeadLetterInput } from '../../activities/dead-letters';
import type { Config } from '../../src/config';
import { receiverDeadLetters } from '../../src/receiver/dead-letters';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import { DeadLetterStore, type DeadLetterSummary } from '../../src/store/dead-letter-store';
import { signWebhookBody } from '../../src/testing/sign';
import { mandateStateQuery } from '../../workflows/mandate';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { openEmbeddedTestDatabase, openPostgresTestDatabase, testBackends, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { keepHistory } from '../workflows/support/histories';
import { goCardlessBatch, goCardlessSecret, postGoCardless, postStripe, startBillflow, stripeSubscriptionEvent, type Billflow } from '../workflows/support/e2e';

const silent = pino({ level: 'silent' });
const token = `dead-letters-token-${randomUUID()}`;
const bin = path.resolve(__dirname, '../../bin/billflow.js');

/** The ids of the billing events signalled to a workflow, in history order. */
async function signalledEventIds(billflow: Billflow, workflowId: string): Promise<string[]> {
  const history = await billflow.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const data = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}

/** A GoCardless batch whose middle event's time is not a time: GoCardless would never send it, a bug on either side might. */
function batchWithABrokenEntry() {
  const [mandateA, mandateB] = [`MD${randomUUID().slice(0, 8)}A`, `MD${randomUUID().slice(0, 8)}B`];
  const brokenId = `EVBROKEN${randomUUID().slice(0, 8)}`;
  const { body, ids } = goCardlessBatch([
    { resource_type: 'mandates', action: 'created', links: { mandate: mandateA } },
    { id: brokenId, resource_type: 'mandates', action: 'cancelled', links: { mandate: mandateB } },
    { resource_type: 'mandates', action: 'created', links: { mandate: mandateB } },
  ]);
  const broken = body.replace(new RegExp(`("id":"${brokenId}","created_at":)"[^"]+"`), '$142');
  expect(broken).not.toBe(body);
  return { body: broken, ids, brokenId, mandateA, mandateB };
}

function api(receiver: RunningReceiver, method: string, path: string, authorization: string | undefined = `Bearer ${token}`): Promise<Response> {
  return fetch(`${receiver.url}${path}`, { method, headers: authorization ? { authorization } : {} });
}

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  return JSON.parse(text) as T;
}

describe('dead letters', () => {
  let billflow: Billflow;
  /** A receiver that keeps dead letters itself, in the worker's database (as `dev` runs them). */
  let receiver: RunningReceiver;
  let stored: DeadLetterStore;
  let config: Config;
  /** The account store refuses to end access, for good, while this is set. */
  let refuseEndOfAccess = false;
  /** The account store refuses to suspend, for good, while this is set. */
  let refuseSuspension = false;
  /** While set, an operator replays a refused event the moment it is kept (the cause fixed meanwhile), before the workflow hears the letter is stored. */
  let replayAsSoonAsKept = false;

  beforeAll(async () => {
    billflow = await startBillflow({}, {
      async endAccountAccess(input: AccountChangeInput) {
        if (refuseEndOfAccess) throw ApplicationFailure.nonRetryable('the account store refuses this customer', 'AccountRefused');
        return { ...(await billflow.store.endAccess(input)), eventId: input.eventId };
      },
      async suspendAccount(input: SuspendInput) {
        if (refuseSuspension) throw ApplicationFailure.nonRetryable('the account store refuses this customer', 'AccountRefused');
        return { ...(await billflow.store.suspend(input)), eventId: input.eventId };
      },
      async recordDeadLetter(input: DeadLetterInput) {
        const { id } = await stored.record(input);
        if (replayAsSoonAsKept && input.kind === 'refused_event') {
          refuseEndOfAccess = false;
          await json(await api(receiver, 'POST', `/deliveries/${id}/replay`));
        }
        return { id };
      },
    });
    config = { ...billflow.config, apiToken: token };
    receiver = await startReceiver(config, silent, { accounts: billflow.store, deadLetters: receiverDeadLetters(billflow.store.database, config) });
    stored = new DeadLetterStore(billflow.store.database);
  });
  afterAll(async () => {
    await receiver?.close();
    await billflow?.close();
  });

  const keptWith = async (eventId: string, kind: DeadLetterSummary['kind']) => (await stored.list({ kind })).find((letter) => letter.eventIds.includes(eventId));

  it('a receiver without a database hands a bad batch entry to Temporal, which stores it in the worker’s; the rest is delivered', async () => {
    const { body, ids, brokenId, mandateA, mandateB } = batchWithABrokenEntry();
    const response = await postGoCardless(billflow.receiver, body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 2, unusable: 1 });
    expect(await signalledEventIds(billflow, `gocardless:mandate:${mandateA}`)).toEqual([ids[0]]);
    expect(await signalledEventIds(billflow, `gocardless:mandate:${mandateB}`)).toEqual([ids[2]]);

    const kept = await eventually(async () => {
      const letter = await keptWith(brokenId, 'unusable_entries');
      expect(letter).toBeDefined();
      return letter!;
    });
    expect(kept).toMatchObject({ provider: 'gocardless', holds: 'delivery', timesSeen: 1, reason: expect.stringMatching(new RegExp(`events\\[1\\] \\(${brokenId}\\): .*created_at`)) });
    expect(Buffer.from((await stored.get(kept.id))!.delivery!.bodyBase64, 'base64').toString()).toBe(body);

    // The provider retrying the delivery once that was done: the same dead letter, seen twice.
    const key = createHash('sha256').update(body).digest('hex').slice(0, 32);
    await billflow.client.workflow.getHandle(`gocardless:dead-letter:unusable_entries:${key}`).result();
    expect((await postGoCardless(billflow.receiver, body)).status).toBe(200);
    await eventually(async () => expect((await stored.get(kept.id))?.timesSeen).toBe(2));
    expect((await stored.list({ kind: 'unusable_entries' })).filter((letter) => letter.eventIds.includes(brokenId))).toHaveLength(1);

    const metrics = await (await fetch(`${billflow.receiver.url}/metrics`)).text();
    expect(metrics).toMatch(/billflow_webhook_events_total\{provider="gocardless",kind="unknown",outcome="unusable"\} [1-9]/);
  });

  it('keeps a verified delivery Temporal could not encode whole, while its events go on without the provider copy', async () => {
    const mandate = `MD${randomUUID().slice(0, 8)}`;
    const deepId = `EVDEEP${randomUUID().slice(0, 8)}`;
    const { body } = goCardlessBatch([{ id: deepId, resource_type: 'mandates', action: 'cancelled', links: { mandate } }]);
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const deepBody = body.replace('"metadata":{}', `"metadata":${deep}`);
    const response = await postGoCardless(receiver, deepBody);
    expect(response.status).toBe(200);
    // Kept before the answer: no waiting here.
    const kept = await keptWith(deepId, 'unencodable_payload');
    expect(kept).toMatchObject({ provider: 'gocardless', reason: expect.stringContaining('could not be encoded') });
    expect(await signalledEventIds(billflow, `gocardless:mandate:${mandate}`)).toEqual([deepId]);
  });

  it('a payment the resolver attaches to no subscription is kept, and replayed once the provider knows it', async () => {
    const payment = `PM${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
    const { body, ids } = goCardlessBatch([{ resource_type: 'payments', action: 'failed', links: { payment }, details: { will_attempt_retry: false } }]);
    expect((await postGoCardless(billflow.receiver, body)).status).toBe(200);
    const resolver = billflow.client.workflow.getHandle(`gocardless:payment:${payment}`);
    await resolver.result();
    await keepHistory(resolver, 'payment-resolver-dead-letter');
    const kept = (await keptWith(ids[0]!, 'unresolved_payment'))!;
    expect(kept).toMatchObject({ holds: 'event', workflowId: `gocardless:payment:${payment}`, reason: `the provider does not know payment ${payment}` });

    // The fix: GoCardless knows the payment now (say, the wrong account's token was in use).
    const mandate = billflow.sandbox.seedMandate({ customerId: `CU${randomUUID().slice(0, 8).toUpperCase()}`, status: 'active' });
    const subscription = billflow.sandbox.state.gocardless.seedSubscription({ mandateId: mandate.id });
    billflow.sandbox.seedPayment({ id: payment, mandateId: mandate.id, subscriptionId: subscription.id, status: 'failed' });

    const outcome = await json<{ accepted: number; workflowIds: string[]; eventIds: string[] }>(await api(receiver, 'POST', `/deliveries/${kept.id}/replay`));
    expect(outcome).toMatchObject({ accepted: 1, eventIds: [ids[0]], workflowIds: [`gocardless:payment:${payment}`] });
    const handle = billflow.client.workflow.getHandle(`gocardless:subscription:${subscription.id}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning.map((open) => open.key)).toEqual([payment]));
    expect(await stored.get(kept.id)).toMatchObject({ replays: 1, lastReplayOutcome: 'accepted 1, ignored 0' });
  });

  it('an event a workflow refused for good is kept, and its replay is applied once the cause is fixed', async () => {
    const customer = `cus_${randomUUID().slice(0, 12)}`;
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'canceled' });
    const deleted = stripeSubscriptionEvent('customer.subscription.deleted', { id: subscription.id, customer, status: 'canceled' });
    refuseEndOfAccess = true;
    expect((await postStripe(billflow.receiver, deleted)).status).toBe(200);
    const workflowId = `stripe:subscription:${subscription.id}`;
    const kept = await eventually(async () => {
      const letter = await keptWith(String(deleted.id), 'refused_event');
      expect(letter).toBeDefined();
      return letter!;
    });
    expect(kept).toMatchObject({ provider: 'stripe', workflowId, reason: 'the account store refuses this customer' });
    expect(await billflow.store.get('stripe', customer)).toBeUndefined();

    refuseEndOfAccess = false;
    expect(await json(await api(receiver, 'POST', `/deliveries/${kept.id}/replay`))).toMatchObject({ accepted: 1, workflowIds: [workflowId] });
    await eventually(async () => expect((await billflow.store.get('stripe', customer))?.status).toBe('closed'));
    const handle = billflow.client.workflow.getHandle(workflowId);
    await eventually(async () => expect(await handle.query(subscriptionStateQuery)).toMatchObject({ status: 'ended', lastEvent: { id: deleted.id, outcome: 'access ended' } }));
    await keepHistory(billflow.client.workflow.getHandle(workflowId), 'subscription-refused-event-replayed');
  });

  it('a mandate event the mandate workflow refused for good is kept, and its replay is applied once the cause is fixed', async () => {
    const customer = `CU${randomUUID().slice(0, 8).toUpperCase()}`;
    const mandate = billflow.sandbox.seedMandate({ customerId: customer, status: 'cancelled' });
    const { body, ids } = goCardlessBatch([{ resource_type: 'mandates', action: 'cancelled', links: { mandate: mandate.id } }]);
    const [eventId] = ids as [string];
    const workflowId = `gocardless:mandate:${mandate.id}`;
    refuseSuspension = true;
    try {
      expect((await postGoCardless(billflow.receiver, body)).status).toBe(200);
      const kept = await eventually(async () => {
        const letter = await keptWith(eventId, 'refused_event');
        expect(letter).toBeDefined();
        return letter!;
      });
      expect(kept).toMatchObject({ provider: 'gocardless', workflowId, reason: 'the account store refuses this customer' });
      const handle = billflow.client.workflow.getHandle(workflowId);
      // The workflow runs on, the event recorded as failed.
      expect(await handle.query(mandateStateQuery)).toMatchObject({ access: 'active', lastEvent: { id: eventId, outcome: 'failed: the account store refuses this customer' } });
      expect((await handle.describe()).status.name).toBe('RUNNING');
      expect(await billflow.store.get('gocardless', customer)).toBeUndefined();

      refuseSuspension = false;
      expect(await json(await api(receiver, 'POST', `/deliveries/${kept.id}/replay`))).toMatchObject({ accepted: 1, workflowIds: [workflowId] });
      await eventually(async () => expect((await billflow.store.get('gocardless', customer))?.status).toBe('suspended'));
      await eventually(async () => expect(await handle.query(mandateStateQuery)).toMatchObject({ access: 'suspended', duplicatesDropped: 0, lastEvent: { id: eventId, outcome: 'account suspended' } }));
      await keepHistory(handle, 'mandate-refused-event-replayed');
    } finally {
      refuseSuspension = false;
    }
  });

  it('applies the replay of a refused event that reaches the workflow while it is still keeping the dead letter', async () => {
    const customer = `cus_${randomUUID().slice(0, 12)}`;
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'canceled' });
    const deleted = stripeSubscriptionEvent('customer.subscription.deleted', { id: subscription.id, customer, status: 'canceled' });
    [refuseEndOfAccess, replayAsSoonAsKept] = [true, true];
    try {
      expect((await postStripe(billflow.receiver, deleted)).status).toBe(200);
      await eventually(async () => expect((await billflow.store.get('stripe', customer))?.status).toBe('closed'));
    } finally {
      [refuseEndOfAccess, replayAsSoonAsKept] = [false, false];
    }
    const handle = billflow.client.workflow.getHandle(`stripe:subscription:${subscription.id}`);
    await eventually(async () => expect(await handle.query(subscriptionStateQuery)).toMatchObject({ status: 'ended', duplicatesDropped: 0, lastEvent: { id: deleted.id, outcome: 'access ended' } }));
  });

  it('answers 422 to the replay of a delivery that still cannot be read, and records the refusal', async () => {
    const delivery = { bodyBase64: Buffer.from('{"events": [').toString('base64'), headers: { 'content-type': 'application/json' }, query: {}, ip: '127.0.0.1' };
    const { id } = await stored.record({ provider: 'gocardless', kind: 'unusable_entries', reason: 'kept by hand', delivery });
    const refused = await json<{ error: string }>(await api(receiver, 'POST', `/deliveries/${id}/replay`), 422);
    expect(refused.error).toMatch(/^the delivery still cannot be read: /);
    expect(await stored.get(id)).toMatchObject({ replays: 1, lastReplayOutcome: `refused: ${refused.error}` });
  });

  it('answers 503 when the dead letter cannot be stored, so the provider delivers again', async () => {
    const broken = await openEmbeddedTestDatabase();
    const brokenReceiver = await startReceiver(config, silent, { deadLetters: receiverDeadLetters(broken.database, config) });
    try {
      await broken.database.close();
      const response = await postGoCardless(brokenReceiver, batchWithABrokenEntry().body);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe(String(config.receiver.retryAfterSeconds));
      expect(await response.json()).toEqual({ error: 'dead-letter store unavailable' });
    } finally {
      await brokenReceiver.close();
      await broken.drop();
    }
  });

  it('serves them behind the Bearer token only, and refuses bad queries with a 400', async () => {
    expect((await api(receiver, 'GET', '/deliveries', '')).status).toBe(401);
    expect((await api(receiver, 'GET', '/deliveries', 'Bearer wrong-token-wrong-token')).status).toBe(401);
    // Without a token configured, or without a store of its own, the API fails closed.
    expect(await json(await api(billflow.receiver, 'GET', '/deliveries'), 503)).toEqual({ error: 'deliveries API not configured: set BILLFLOW_API_TOKEN' });
    expect((await api(receiver, 'GET', '/deliveries?kind=nonsense')).status).toBe(400);
    expect((await api(receiver, 'GET', '/deliveries?limit=0')).status).toBe(400);
    expect((await api(receiver, 'GET', '/deliveries?provider=paypal')).status).toBe(400);
    expect((await api(receiver, 'GET', '/deliveries/999999999')).status).toBe(404);
    expect((await api(receiver, 'POST', '/deliveries/not-an-id/replay')).status).toBe(404);
  });
});

// The receiver storing dead letters itself, on each back-end: the embedded database it shares with
// the worker, or PostgreSQL, opened from DATABASE_URL by the receiver on its own.
for (const backend of testBackends) {
  describe.skipIf(backend.unavailable)(`a receiver keeping dead letters itself, on ${backend.kind}`, () => {
    let billflow: Billflow;
    let receiver: RunningReceiver;
    let testDatabase: TestDatabase | undefined;
    let stored: DeadLetterStore;

    beforeAll(async () => {
      billflow = await startBillflow();
      if (backend.kind === 'embedded') {
        const config = { ...billflow.config, apiToken: token };
        receiver = await startReceiver(config, silent, { deadLetters: receiverDeadLetters(billflow.store.database, config) });
        stored = new DeadLetterStore(billflow.store.database);
      } else {
        const postgres = await openPostgresTestDatabase(process.env.BILLFLOW_TEST_DATABASE_URL!);
        testDatabase = postgres;
        receiver = await startReceiver({ ...billflow.config, apiToken: token, databaseUrl: postgres.url }, silent);
        stored = new DeadLetterStore(postgres.database);
      }
    });
    afterAll(async () => {
      await receiver?.close();
      await billflow?.close();
      await testDatabase?.drop();
    });

    it('stores a bad batch entry before answering 2xx, lists and shows it, and replays the delivery', async () => {
      const { body, ids, brokenId, mandateA } = batchWithABrokenEntry();
      const response = await postGoCardless(receiver, body);
      expect(response.status).toBe(200);
      const [kept] = (await stored.list({ kind: 'unusable_entries' })).filter((letter) => letter.eventIds.includes(brokenId));
      expect(kept).toBeDefined();

      const { deliveries } = await json<{ deliveries: DeadLetterSummary[] }>(await api(receiver, 'GET', '/deliveries?provider=gocardless&kind=unusable_entries'));
      expect(deliveries.map((letter) => letter.id)).toContain(kept!.id);
      const shown = await json<{ delivery: { body: string; headers: Record<string, string>; bodyBase64: string } }>(await api(receiver, 'GET', `/deliveries/${kept!.id}`));
      expect(shown.delivery.body).toBe(body);
      expect(shown.delivery.headers['webhook-signature']).toBe('[redacted]');
      expect(shown.delivery.headers['content-type']).toBe('application/json');

      // Replayed as it is: the good events go again and their workflows drop them, the bad entry is still bad.
      const outcome = await json<{ accepted: number; unusable: string[] }>(await api(receiver, 'POST', `/deliveries/${kept!.id}/replay`));
      expect(outcome).toMatchObject({ accepted: 2, eventIds: [ids[0], ids[2]], unusable: [expect.stringMatching(/^events\[1\]: .*created_at/)] });
      const mandate = billflow.client.workflow.getHandle(`gocardless:mandate:${mandateA}`);
      await eventually(async () => expect((await mandate.query(mandateStateQuery)).duplicatesDropped).toBe(1));
      expect(await signalledEventIds(billflow, `gocardless:mandate:${mandateA}`)).toEqual([ids[0], ids[0]]);
      expect(await stored.get(kept!.id)).toMatchObject({ replays: 1, lastReplayOutcome: expect.stringMatching(/^accepted 2, ignored 0, still unusable: events\[1\]/) });
    });

    it('counts deliveries that fail verification and keeps the latest, without their bodies or secrets', async () => {
      const body = JSON.stringify({ events: [], meta: { webhook_id: `WB${randomUUID()}` } });
      const headers = { 'content-type': 'application/json', ...signWebhookBody('gocardless', body, `${goCardlessSecret}-not-it`) };
      const response = await fetch(`${receiver.url}/webhooks/gocardless`, { method: 'POST', headers, body });
      expect(response.status).toBeGreaterThanOrEqual(400);
      const summary = await json<{ counts: { provider: string; count: number }[]; latest: Record<string, unknown>[] }>(await api(receiver, 'GET', '/deliveries/verification-failures'));
      expect(summary.counts).toEqual([expect.objectContaining({ provider: 'gocardless', count: 1 })]);
      expect(summary.latest).toHaveLength(1);
      expect(summary.latest[0]).toMatchObject({
        provider: 'gocardless',
        status: response.status,
        size: Buffer.byteLength(body),
        bodySha256: createHash('sha256').update(body).digest('hex'),
        headers: { 'webhook-signature': '[redacted]', 'content-type': 'application/json' },
      });
      expect(JSON.stringify(summary)).not.toContain(body);
    });

    it.runIf(backend.kind === 'embedded')('billflow deliveries list / show / replay, from the command line', async () => {
      const { body, brokenId } = batchWithABrokenEntry();
      expect((await postGoCardless(receiver, body)).status).toBe(200);
      const [kept] = (await stored.list({ kind: 'unusable_entries' })).filter((letter) => letter.eventIds.includes(brokenId));
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BILLFLOW_API_TOKEN: token };
      const run = (args: string[]) => promisify(execFile)(process.execPath, [bin, 'deliveries', ...args, '--url', receiver.url], { env, timeout: 30_000 });

      const listed = await run(['list', '--kind', 'unusable_entries']);
      expect(listed.stdout).toMatch(new RegExp(`^ *${kept!.id}  \\S+  gocardless +unusable_entries +events\\[1\\] \\(${brokenId}\\)`, 'm'));
      const shown = JSON.parse((await run(['show', kept!.id])).stdout) as { delivery: { body: string } };
      expect(shown.delivery.body).toBe(body);
      const replayed = await run(['replay', kept!.id]);
      expect(replayed.stdout).toContain(`replayed ${kept!.id}: accepted 2, ignored 0`);
      expect(replayed.stdout).toMatch(/still unusable: events\[1\]/);
      await expect(run(['show', '999999999'])).rejects.toMatchObject({ code: 1, stderr: '404 no such dead letter\n' });
    });
  });
}
