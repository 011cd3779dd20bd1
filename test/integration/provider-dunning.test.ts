import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trigger, type TriggerResult } from '../../src/cli/trigger';
import { recurlyWebhooks } from '../../src/providers/recurly/testing/webhooks';
import type { ProviderName } from '../../src/core/events';
import type { TriggerReferences } from '../../src/testing/webhooks/types';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { recurlyUuid } from '../support/recurly';
import { goCardlessBatch, postGoCardless, recurlySecret, startBillflow, stripeSecret, type Billflow } from '../workflows/support/e2e';
import { uniqueId } from '../workflows/support/harness';

/*
 * Dunning the providers run, end to end: each event sent as `billflow trigger` sends it (seeding
 * the sandbox as it does), into the real receiver, the worker on the dev server, the provider
 * clients against the sandbox and the account store. Waits are shortened through the settings
 * production reads.
 */
describe('dunning the providers run', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({
      BILLFLOW_DUNNING_SCHEDULE: '300ms,300ms,300ms',
      BILLFLOW_PROVIDER_RETRY_WAIT: '1s',
      BILLFLOW_PROVIDER_RETRY_MARGIN: '500ms',
      // Recurly's legacy XML endpoint: Basic credentials and this machine as its source.
      RECURLY_WEBHOOK_BASIC_AUTH: `billflow:${recurlySecret}`,
      RECURLY_ALLOWED_IPS: '127.0.0.1,::1',
    });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  /** `billflow trigger <provider> <event>` against this receiver and its sandbox. */
  async function triggered(provider: 'stripe' | 'recurly', event: string, references: TriggerReferences): Promise<TriggerResult> {
    const secret = provider === 'stripe' ? stripeSecret : recurlySecret;
    const options = { ...references, url: billflow.receiver.url, secret, sandboxUrl: billflow.sandbox.url, seed: true };
    const result = await trigger(provider, event, options, billflow.config, () => undefined);
    expect(result.status, result.body).toBe(200);
    return result;
  }

  const stateOf = (workflowId: string) => billflow.client.workflow.getHandle(workflowId).query(subscriptionStateQuery);
  const accountStatus = async (provider: ProviderName, customer: string) => (await billflow.store.get(provider, customer))?.status;
  const stripePays = (invoice: string) => billflow.sandbox.requests.filter((request) => request.method === 'POST' && request.path === `/stripe/v1/invoices/${invoice}/pay`);

  describe('Stripe', () => {
    const stripeIds = () => ({ customer: uniqueId('cus_'), subscription: uniqueId('sub_'), invoice: uniqueId('in_') });

    it('invoice.payment_action_required: no /pay retry is made for the invoice, and the schedule ends in the suspension', async () => {
      const ids = stripeIds();
      await triggered('stripe', 'invoice.payment_action_required', ids);
      // The sandbox would take a /pay: none is made, as only the customer can authenticate it.
      expect(billflow.sandbox.state.stripe.invoices.get(ids.invoice)).toMatchObject({ status: 'open', nextOutcome: 'succeed' });
      await eventually(async () => expect(await accountStatus('stripe', ids.customer)).toBe('suspended'));
      expect(stripePays(ids.invoice)).toEqual([]);
      // The store changes inside the suspending activity; the workflow records it once the activity completes.
      const state = await eventually(async () => {
        const current = await stateOf(`stripe:subscription:${ids.subscription}`);
        expect(current.dunning).toMatchObject([{ key: ids.invoice, stage: 'exhausted', retriesMade: 3, customerActionRequired: true }]);
        return current;
      });
      expect(state.lastEvent?.outcome).toContain('the customer must complete');
    });

    it('a subscription moving to unpaid (Stripe gave up) suspends once Stripe confirms the invoice unpaid; to incomplete_expired ends access', async () => {
      const unpaid = stripeIds();
      await triggered('stripe', 'customer.subscription.updated:unpaid', unpaid);
      await eventually(async () => expect(await accountStatus('stripe', unpaid.customer)).toBe('suspended'));
      expect(billflow.sandbox.requests.some((request) => request.method === 'GET' && request.path === `/stripe/v1/invoices/${unpaid.invoice}`)).toBe(true);
      expect(stripePays(unpaid.invoice)).toEqual([]);

      const expired = stripeIds();
      await triggered('stripe', 'customer.subscription.updated:incomplete_expired', expired);
      await eventually(async () => expect(await accountStatus('stripe', expired.customer)).toBe('closed'));
      expect((await stateOf(`stripe:subscription:${expired.subscription}`)).status).toBe('ended');
    });

    it('past_due opens a wait for Stripe; no outcome by the wait plus the margin, Stripe asked says it plans no attempt: billflow retries', async () => {
      const ids = stripeIds();
      await triggered('stripe', 'customer.subscription.updated:past_due', ids);
      const workflowId = `stripe:subscription:${ids.subscription}`;
      const waiting = await eventually(async () => {
        const state = await stateOf(workflowId);
        expect(state.dunning).toMatchObject([{ key: ids.invoice, stage: 'provider_retrying' }]);
        return state;
      });
      expect(waiting.nextAction?.action).toBe(`ask stripe how ${ids.invoice} stands: no outcome of its own retry yet`);
      await eventually(async () => expect((await stateOf(workflowId)).dunning).toEqual([]));
      expect(stripePays(ids.invoice)).toHaveLength(1);
      expect(billflow.sandbox.state.stripe.invoices.get(ids.invoice)?.status).toBe('paid');
    });
  });

  describe('Recurly', () => {
    const recurlyIds = () => ({ customer: `acct-${randomUUID().slice(0, 8)}`, subscription: recurlyUuid(), invoice: String(10_000 + Math.floor(Math.random() * 80_000)) });

    it("a retry's success (a new transaction of the same invoice) closes the case its first failure opened", async () => {
      const ids = recurlyIds();
      const workflowId = `recurly:subscription:${ids.subscription}`;
      await triggered('recurly', 'payment.failed', { ...ids, payment: recurlyUuid() });
      await eventually(async () => expect((await stateOf(workflowId)).dunning).toMatchObject([{ key: ids.invoice, stage: 'provider_retrying' }]));

      const succeeded = await triggered('recurly', 'payment.succeeded', { ...ids, payment: recurlyUuid() });
      const state = await eventually(async () => {
        const current = await stateOf(workflowId);
        expect(current.lastEvent?.id).toBe(succeeded.eventIds[0]);
        return current;
      });
      expect(state.dunning).toEqual([]);
      expect(state.lastEvent?.outcome).toBe(`dunning for ${ids.invoice} ended: paid`);
    });

    it('invoice.closed (JSON: Recurly asked, the invoice failed) suspends the account Recurly dunned', async () => {
      const ids = recurlyIds();
      const closed = await triggered('recurly', 'invoice.closed', ids);
      expect(closed.workflowIds).toEqual([`recurly:invoice:${ids.invoice}`]);
      await eventually(async () => expect(await accountStatus('recurly', ids.customer)).toBe('suspended'));
      const state = await stateOf(`recurly:subscription:${ids.subscription}`);
      expect(state.dunning).toMatchObject([{ key: ids.invoice, stage: 'exhausted' }]);
      expect(state.lastEvent?.outcome).toMatch(/^closed unpaid: recurly will not retry/);
    });

    it('closed_invoice_notification (XML, failed) suspends; a collected one after it reinstates', async () => {
      const ids = recurlyIds();
      await triggered('recurly', 'closed_invoice_notification', ids);
      await eventually(async () => expect(await accountStatus('recurly', ids.customer)).toBe('suspended'));

      const collected = recurlyWebhooks.build('closed_invoice_notification', ids, recurlySecret, new Date(Date.now() + 1000));
      const body = collected.body.replace('<state>failed</state>', '<state>collected</state>');
      const response = await fetch(`${billflow.receiver.url}/webhooks/recurly`, { method: 'POST', headers: collected.headers, body });
      expect(response.status).toBe(200);
      await eventually(async () => expect(await accountStatus('recurly', ids.customer)).toBe('active'));
    });

    it.each(['invoice.past_due', 'dunning_event.created', 'past_due_invoice_notification', 'new_dunning_event_notification', 'past_due_charge_invoice_notification'])(
      '%s opens a dunning case keyed by the invoice, waiting for Recurly',
      async (event) => {
        const ids = recurlyIds();
        await triggered('recurly', event, ids);
        await eventually(async () => expect((await stateOf(`recurly:subscription:${ids.subscription}`)).dunning).toMatchObject([{ key: ids.invoice, stage: 'provider_retrying' }]));
      },
    );

    it('failed_charge_invoice_notification closes the charge invoice unpaid: suspension', async () => {
      const ids = recurlyIds();
      await triggered('recurly', 'failed_charge_invoice_notification', ids);
      await eventually(async () => expect(await accountStatus('recurly', ids.customer)).toBe('suspended'));
    });

    it('a JSON notification without recurly-notification-id is refused with a reason, not deduplicated on the body id', async () => {
      const ids = recurlyIds();
      const { body, headers } = recurlyWebhooks.build('invoice.closed', recurlyWebhooks.complete('invoice.closed', ids), recurlySecret, new Date());
      const withoutId = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'recurly-notification-id'));
      const response = await fetch(`${billflow.receiver.url}/webhooks/recurly`, { method: 'POST', headers: withoutId, body });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('recurly-notification-id');
    });
  });

  describe('waiting on a provider is bounded', () => {
    it('GoCardless retries by itself and no outcome arrives: asked after the wait plus the margin, it says paid, and the case ends', async () => {
      const customer = uniqueId('CU');
      const mandate = billflow.sandbox.seedMandate({ customerId: customer, status: 'active' });
      const subscription = billflow.sandbox.state.gocardless.seedSubscription({ mandateId: mandate.id });
      const payment = billflow.sandbox.seedPayment({ mandateId: mandate.id, subscriptionId: subscription.id, status: 'failed' });
      const { body } = goCardlessBatch([{ resource_type: 'payments', action: 'failed', links: { payment: payment.id }, details: { will_attempt_retry: true, cause: 'insufficient_funds' } }]);
      expect((await postGoCardless(billflow.receiver, body)).status).toBe(200);
      const workflowId = `gocardless:subscription:${subscription.id}`;
      await eventually(async () => expect((await stateOf(workflowId)).dunning).toMatchObject([{ stage: 'provider_retrying' }]));
      // GoCardless collected it; its webhook is lost.
      billflow.sandbox.state.gocardless.setPaymentStatus(payment.id, 'confirmed');
      const state = await eventually(async () => {
        const current = await stateOf(workflowId);
        expect(current.dunning).toEqual([]);
        return current;
      });
      expect(state.lastAction?.action).toBe(`no outcome of gocardless's own retry of ${payment.id}: gocardless says it is paid (confirmed); dunning for ${payment.id} ended: paid`);
      expect(billflow.sandbox.requests.some((request) => request.method === 'POST' && request.path.endsWith('/actions/retry'))).toBe(false);
    });
  });
});
