import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { goCardlessBatch, postGoCardless, postStripe, startBillflow, stripeSubscriptionEvent, type Billflow } from '../workflows/support/e2e';
import { uniqueId } from '../workflows/support/harness';

/*
 * Paused subscriptions end to end: signed webhooks into the real receiver, the worker on the dev
 * server, the provider confirmed through the sandbox, the account store read as `/accounts` reads it.
 */
describe('paused subscriptions from signed webhooks', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow();
  });

  afterAll(async () => {
    await billflow?.close();
  });

  async function searchStatus(workflowId: string): Promise<unknown> {
    const attributes = (await billflow.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.getAll();
    return attributes.find((pair) => pair.key.name === 'BillingStatus')?.value;
  }

  it('Stripe: a paused subscription (a trial ended without a payment method) makes the account paused without access; resumed restores it', async () => {
    const customer = uniqueId('cus_');
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'paused' });
    const workflowId = `stripe:subscription:${subscription.id}`;
    const paused = stripeSubscriptionEvent('customer.subscription.paused', { id: subscription.id, customer, status: 'paused' });
    expect((await postStripe(billflow.receiver, paused)).status).toBe(200);

    await eventually(async () => expect(await billflow.store.get('stripe', customer)).toMatchObject({ status: 'paused', access: false, reason: 'customer.subscription.paused' }));
    const handle = billflow.client.workflow.getHandle(workflowId);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('paused'));
    await eventually(async () => expect(await searchStatus(workflowId)).toBe('paused'));

    billflow.sandbox.state.stripe.subscriptions.get(subscription.id)!.status = 'active';
    const resumed = stripeSubscriptionEvent('customer.subscription.resumed', { id: subscription.id, customer, status: 'active' });
    expect((await postStripe(billflow.receiver, resumed)).status).toBe(200);
    await eventually(async () => expect(await billflow.store.get('stripe', customer)).toMatchObject({ status: 'active', access: true }));
    expect((await billflow.store.get('stripe', customer))?.history.map((change) => change.action)).toEqual(['pause', 'resume']);
    await eventually(async () => expect(await searchStatus(workflowId)).toBe('active'));
  });

  it('Stripe: an update into status paused is a pause too', async () => {
    const customer = uniqueId('cus_');
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'paused' });
    const updated = stripeSubscriptionEvent('customer.subscription.updated', { id: subscription.id, customer, status: 'paused' }, { status: 'trialing' });
    expect((await postStripe(billflow.receiver, updated)).status).toBe(200);
    await eventually(async () => expect(await billflow.store.get('stripe', customer)).toMatchObject({ status: 'paused', access: false }));
  });

  it('GoCardless: a pause the provider no longer shows changes nothing; a confirmed one pauses the account', async () => {
    const customer = uniqueId('CU');
    const mandate = billflow.sandbox.seedMandate({ customerId: customer, status: 'active' });
    const subscription = billflow.sandbox.state.gocardless.seedSubscription({ mandateId: mandate.id });
    const workflowId = `gocardless:subscription:${subscription.id}`;
    const pause = () => goCardlessBatch([{ resource_type: 'subscriptions', action: 'paused', links: { subscription: subscription.id } }]).body;

    // Resumed again at GoCardless before the (late) webhook arrived.
    expect((await postGoCardless(billflow.receiver, pause())).status).toBe(200);
    const handle = billflow.client.workflow.getHandle(workflowId);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toBe('ignored: gocardless says the subscription is active, not paused'));
    expect(await billflow.store.get('gocardless', customer)).toBeUndefined();

    billflow.sandbox.state.gocardless.subscriptions.get(subscription.id)!.status = 'paused';
    expect((await postGoCardless(billflow.receiver, pause())).status).toBe(200);
    await eventually(async () => expect(await billflow.store.get('gocardless', customer)).toMatchObject({ status: 'paused', access: false }));
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('paused'));
  });
});

describe('paused subscriptions that keep access (BILLFLOW_PAUSED_MEANS_NO_ACCESS=false)', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({ BILLFLOW_PAUSED_MEANS_NO_ACCESS: 'false' });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  it('marks the account paused and keeps its access', async () => {
    const customer = uniqueId('cus_');
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'paused' });
    const paused = stripeSubscriptionEvent('customer.subscription.paused', { id: subscription.id, customer, status: 'paused' });
    expect((await postStripe(billflow.receiver, paused)).status).toBe(200);
    await eventually(async () => expect(await billflow.store.get('stripe', customer)).toMatchObject({ status: 'paused', access: true }));
  });
});
