import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { billforwardCredentials, postStripe, postTriggered, startBillflow, stripeSecret, type Billflow } from '../workflows/support/e2e';
import { uniqueId } from '../workflows/support/harness';

/*
 * An invoice the provider stops collecting closes its dunning case: signed webhooks into the real
 * receiver, the worker on the dev server, the provider clients against the sandbox.
 */
describe('voided and uncollectible invoices end their dunning', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({ BILLFLOW_DUNNING_SCHEDULE: '300ms' });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  const paysOf = (invoice: string) => billflow.sandbox.requests.filter((request) => request.method === 'POST' && request.path === `/stripe/v1/invoices/${invoice}/pay`);

  /** `invoice.payment_failed` with no automatic attempt left: billflow's own schedule runs the retries. */
  function stripeInvoiceFailed(invoice: string, subscription: string, customer: string): Record<string, unknown> {
    return {
      id: `evt_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
      object: 'event',
      api_version: '2025-03-31.basil',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: 'invoice.payment_failed',
      data: {
        object: {
          id: invoice,
          object: 'invoice',
          customer,
          status: 'open',
          attempt_count: 1,
          next_payment_attempt: null,
          parent: { type: 'subscription_details', subscription_details: { subscription } },
        },
      },
    };
  }

  it('Stripe: invoice.voided closes the case its failure opened; nothing is retried or suspended', async () => {
    const { response: failed, references } = await postTriggered(billflow, 'stripe', 'invoice.payment_failed', {}, stripeSecret);
    expect(failed.status).toBe(200);
    const { invoice = '', customer } = references;
    const handle = billflow.client.workflow.getHandle(`stripe:subscription:${references.subscription}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning.map((open) => open.key)).toEqual([invoice]));

    const { response: voided } = await postTriggered(billflow, 'stripe', 'invoice.voided', references, stripeSecret);
    expect(voided.status).toBe(200);
    const state = await eventually(async () => {
      const current = await handle.query(subscriptionStateQuery);
      expect(current.dunning).toEqual([]);
      return current;
    });
    expect(state.lastEvent?.outcome).toBe(`dunning for ${invoice} closed: invoice.voided, nothing to retry or suspend for`);
    expect(state.status).toBe('active');
    expect(await billflow.store.get('stripe', customer)).toBeUndefined();
  });

  it('Stripe: invoice.marked_uncollectible is confirmed with Stripe first; an invoice still open keeps its case', async () => {
    const customer = uniqueId('cus_');
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'past_due' });
    const invoice = billflow.sandbox.state.stripe.seedInvoice({ customerId: customer, subscriptionId: subscription.id, nextOutcome: 'decline' });
    // Stripe retries by itself (next_payment_attempt set), so billflow only waits.
    const { response } = await postTriggered(billflow, 'stripe', 'invoice.payment_failed', { customer, subscription: subscription.id, invoice: invoice.id }, stripeSecret, { seed: false });
    expect(response.status).toBe(200);
    const handle = billflow.client.workflow.getHandle(`stripe:subscription:${subscription.id}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning[0]?.stage).toBe('provider_retrying'));

    // A notification Stripe's invoice no longer bears out (marked uncollectible, then paid back to open here).
    await postTriggered(billflow, 'stripe', 'invoice.marked_uncollectible', { customer, subscription: subscription.id, invoice: invoice.id }, stripeSecret, { seed: false });
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toBe(`ignored: stripe says ${invoice.id} is open`));

    billflow.sandbox.state.stripe.invoices.get(invoice.id)!.status = 'uncollectible';
    await postTriggered(billflow, 'stripe', 'invoice.marked_uncollectible', { customer, subscription: subscription.id, invoice: invoice.id }, stripeSecret, { seed: false });
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning).toEqual([]));
  });

  it('Stripe: a retry refused because the invoice was voided (its webhook lost) closes the case instead of suspending', async () => {
    const customer = uniqueId('cus_');
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'past_due' });
    const invoice = billflow.sandbox.state.stripe.seedInvoice({ customerId: customer, subscriptionId: subscription.id, status: 'void' });
    expect((await postStripe(billflow.receiver, stripeInvoiceFailed(invoice.id, subscription.id, customer))).status).toBe(200);

    const handle = billflow.client.workflow.getHandle(`stripe:subscription:${subscription.id}`);
    const state = await eventually(async () => {
      const current = await handle.query(subscriptionStateQuery);
      expect(current.lastAction?.action).toMatch(/^retry 1 of 1 for .* refused/);
      return current;
    });
    expect(state.lastAction?.action).toContain(`dunning for ${invoice.id} closed: void, nothing to retry or suspend for`);
    // Read first and found void: no payment is even attempted.
    expect(paysOf(invoice.id)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await billflow.store.get('stripe', customer)).toBeUndefined();
    expect((await handle.query(subscriptionStateQuery)).status).toBe('active');
  });

  it('BillForward: Invoice.Voided closes the case Invoice.PaymentFailed opened', async () => {
    const { response, references } = await postTriggered(billflow, 'billforward', 'Invoice.PaymentFailed', {}, billforwardCredentials);
    expect(response.status).toBe(200);
    const handle = billflow.client.workflow.getHandle(`billforward:subscription:${references.subscription}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning.map((open) => open.key)).toEqual([references.invoice]));

    expect((await postTriggered(billflow, 'billforward', 'Invoice.Voided', references, billforwardCredentials)).response.status).toBe(200);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning).toEqual([]));
    expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toContain('closed: Invoice.Voided');
  });
});
