import { parse as parseGoCardlessWebhook } from 'gocardless-nodejs/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningReceiver } from '../../src/run/receiver';
import { signWebhookBody } from '../../src/testing/sign';
import { upperId } from '../../src/testing/webhooks/ids';
import { mandateStateQuery } from '../../workflows/mandate';
import { eventually } from '../support/eventually';
import { startBillflow, type Billflow } from '../workflows/support/e2e';

const secret = 'integration-test-secret';

/** The Webhook-Signature GoCardless would send (the official library's parser accepts it, below). */
function signGoCardless(body: string, key = secret): string {
  return signWebhookBody('gocardless', body, key)['webhook-signature'] ?? '';
}

function mandateBatch(mandateId: string, events: { id: string; action: string; createdAt: string }[]): string {
  return JSON.stringify({
    events: events.map((event) => ({
      id: event.id,
      created_at: event.createdAt,
      resource_type: 'mandates',
      action: event.action,
      links: { mandate: mandateId },
      details: { origin: 'bank', cause: `mandate_${event.action}`, description: 'Test event' },
      metadata: {},
    })),
    meta: { webhook_id: upperId('WB') },
  });
}

async function post(receiver: RunningReceiver, body: string, signature?: string): Promise<Response> {
  return fetch(`${receiver.url}/webhooks/gocardless`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'webhook-signature': signature }) },
    body,
  });
}

describe('GoCardless mandate webhook → Temporal → account store', () => {
  let billflow: Billflow;
  let sandbox: Billflow['sandbox'];
  let store: Billflow['store'];
  let receiver: Billflow['receiver'];
  let client: Billflow['client'];

  beforeAll(async () => {
    // Sandbox, embedded store, worker and receiver as production wires them; a rotated-out secret too.
    billflow = await startBillflow({ GOCARDLESS_WEBHOOK_SECRET: `old-rotated-secret,${secret}` });
    ({ sandbox, store, receiver, client } = billflow);
  });

  afterAll(async () => {
    await billflow?.close();
  });

  it.each(['blocked', 'suspended_by_payer'])('suspends the account for mandates.%s as for a cancellation, once GoCardless confirms the mandate', async (action) => {
    const mandateId = upperId('MD');
    const customerId = upperId('CU');
    await sandbox.seedMandate({ id: mandateId, status: action as 'blocked' | 'suspended_by_payer', customerId });
    const body = mandateBatch(mandateId, [{ id: upperId('EV'), action, createdAt: new Date().toISOString() }]);
    const response = await post(receiver, body, signGoCardless(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 1 });
    const account = await eventually(async () => {
      const found = await store.get('gocardless', customerId);
      expect(found?.status).toBe('suspended');
      return found;
    });
    expect(account?.reason).toBe(`mandates.${action}`);
    expect(sandbox.requests.filter((request) => request.path === `/gocardless/mandates/${mandateId}`)).toHaveLength(1);
  });

  it('suspends the account once, however often the cancellation is delivered', async () => {
    const mandateId = upperId('MD');
    const customerId = upperId('CU');
    await sandbox.seedMandate({ id: mandateId, status: 'cancelled', customerId });
    const body = mandateBatch(mandateId, [{ id: upperId('EV'), action: 'cancelled', createdAt: new Date().toISOString() }]);
    const signature = signGoCardless(body);
    // The same bytes and signature are accepted by GoCardless's own client library.
    expect(parseGoCardlessWebhook(body, secret, signature)).toHaveLength(1);

    const first = await post(receiver, body, signature);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 1 });

    const workflowId = `gocardless:mandate:${mandateId}`;
    const handle = client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    expect(description.type).toBe('mandateWorkflow');
    expect(description.status.name).toBe('RUNNING');

    const account = await eventually(async () => {
      const found = await store.get('gocardless', customerId);
      expect(found?.status).toBe('suspended');
      return found;
    });
    expect(account?.history).toHaveLength(1);

    const again = await post(receiver, body, signature);
    expect(again.status).toBe(200);
    const state = await eventually(async () => {
      const current = await handle.query(mandateStateQuery);
      expect(current.duplicatesDropped).toBe(1);
      return current;
    });
    expect(state.eventsApplied).toBe(1);
    expect(state.access).toBe('suspended');
    expect((await store.get('gocardless', customerId))?.history).toHaveLength(1);
    // The mandate was confirmed with the provider exactly once (the duplicate never reached it).
    expect(sandbox.requests.filter((request) => request.path === `/gocardless/mandates/${mandateId}`)).toHaveLength(1);

    const searchable = await handle.describe();
    expect(searchable.typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value])).toEqual(
      expect.arrayContaining([
        ['BillingProvider', 'gocardless'],
        ['BillingCustomer', customerId],
        ['BillingStatus', 'suspended'],
      ]),
    );
  });

  it('reinstates when the mandate comes back, and ignores a late, older cancellation', async () => {
    const mandateId = upperId('MD');
    const customerId = upperId('CU');
    await sandbox.seedMandate({ id: mandateId, status: 'cancelled', customerId });
    const cancelledAt = new Date(Date.now() - 60_000).toISOString();
    const cancellation = mandateBatch(mandateId, [{ id: upperId('EV'), action: 'cancelled', createdAt: cancelledAt }]);
    expect((await post(receiver, cancellation, signGoCardless(cancellation))).status).toBe(200);
    await eventually(async () => expect((await store.get('gocardless', customerId))?.status).toBe('suspended'));

    await sandbox.seedMandate({ id: mandateId, status: 'active', customerId });
    const reinstatement = mandateBatch(mandateId, [{ id: upperId('EV'), action: 'reinstated', createdAt: new Date().toISOString() }]);
    expect((await post(receiver, reinstatement, signGoCardless(reinstatement))).status).toBe(200);
    await eventually(async () => expect((await store.get('gocardless', customerId))?.status).toBe('active'));

    // A different cancellation event that happened before the reinstatement arrives late.
    const late = mandateBatch(mandateId, [{ id: upperId('EV'), action: 'expired', createdAt: cancelledAt }]);
    expect((await post(receiver, late, signGoCardless(late))).status).toBe(200);
    const handle = client.workflow.getHandle(`gocardless:mandate:${mandateId}`);
    const state = await eventually(async () => {
      const current = await handle.query(mandateStateQuery);
      expect(current.eventsApplied).toBe(3);
      return current;
    });
    expect(state.access).toBe('active');
    expect(state.lastEvent?.outcome).toMatch(/older/);
    expect((await store.get('gocardless', customerId))?.status).toBe('active');
  });

  it('answers 498 to a forged batch and starts no workflow', async () => {
    const mandateId = upperId('MD');
    const body = mandateBatch(mandateId, [{ id: upperId('EV'), action: 'cancelled', createdAt: new Date().toISOString() }]);
    expect((await post(receiver, body, signGoCardless(body, 'not-the-secret'))).status).toBe(498);
    expect((await post(receiver, body)).status).toBe(498);
    await expect(client.workflow.getHandle(`gocardless:mandate:${mandateId}`).describe()).rejects.toThrow(/not found/i);
  });
});
