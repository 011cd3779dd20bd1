import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/testing/sandbox/request-log';
import { recurlyWebhooks } from '../../src/providers/recurly/testing/webhooks';
import type { TriggerReferences } from '../../src/testing/webhooks/types';
import { paymentResolverWorkflow, resolverStateQuery } from '../../workflows/resolver';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { recurlyUuid } from '../support/recurly';
import { goCardlessBatch, postGoCardless, postStripe, recurlySecret, startBillflow, stripeSubscriptionEvent, type Billflow } from '../workflows/support/e2e';
import { runsOf, uniqueId } from '../workflows/support/harness';
import { keepHistory } from '../workflows/support/histories';

/*
 * Each process end to end: a signed webhook into the real receiver, the real worker on the real
 * dev server, the real provider clients against the sandbox, the real account store. Durations
 * are shortened through the same environment variables production reads, and every run holds at
 * most five signals, so each scenario also crosses continue-as-new.
 */
describe('subscription processes from signed webhooks', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({
      BILLFLOW_DUNNING_SCHEDULE: '300ms,300ms,300ms',
      BILLFLOW_CANCEL_WHEN_DUNNING_EXHAUSTED: 'true',
      BILLFLOW_MAX_SIGNALS_PER_RUN: '5',
      BILLFLOW_REATTEMPT_DELAY: '300ms',
    });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  function seedGoCardless() {
    const customer = uniqueId('CU');
    const mandate = billflow.sandbox.seedMandate({ customerId: customer, status: 'active' });
    const subscription = billflow.sandbox.state.gocardless.seedSubscription({ mandateId: mandate.id });
    const payment = billflow.sandbox.seedPayment({ mandateId: mandate.id, subscriptionId: subscription.id, status: 'failed' });
    return { customer, mandate: mandate.id, subscription: subscription.id, payment: payment.id };
  }

  const retriesOf = (payment: string): RecordedRequest[] =>
    billflow.sandbox.requests.filter((request) => request.method === 'POST' && request.path === `/gocardless/payments/${payment}/actions/retry`);

  async function paymentFailed(payment: string, willRetry = false): Promise<void> {
    const { body } = goCardlessBatch([{ resource_type: 'payments', action: 'failed', links: { payment }, details: { will_attempt_retry: willRetry, cause: 'insufficient_funds' } }]);
    const response = await postGoCardless(billflow.receiver, body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 1 });
  }

  describe('dunning (GoCardless: payment events name only the payment)', () => {
    it('resolves the payment, retries it on schedule with one idempotency key per step, and ends when it is paid', async () => {
      const { subscription, payment, customer } = seedGoCardless();
      const workflowId = `gocardless:subscription:${subscription}`;
      const keyOf = (step: number) => `${workflowId}:dunning:${payment}:${step}`;

      await paymentFailed(payment);
      // Accepted at once; the resolver asked GoCardless (inside Temporal) which subscription it is.
      const resolver = billflow.client.workflow.getHandle<typeof paymentResolverWorkflow>(`gocardless:payment:${payment}`);
      expect((await resolver.describe()).type).toBe('paymentResolverWorkflow');
      await eventually(async () => expect(retriesOf(payment).map((request) => request.headers['idempotency-key'])).toEqual([keyOf(1)]));
      expect(billflow.sandbox.state.gocardless.payments.get(payment)?.status).toBe('pending_submission');

      // The retry failed too: GoCardless says so, and the next step follows.
      billflow.sandbox.state.gocardless.setPaymentStatus(payment, 'failed');
      await paymentFailed(payment);
      await eventually(async () => expect(retriesOf(payment).map((request) => request.headers['idempotency-key'])).toEqual([keyOf(1), keyOf(2)]));

      const { body } = goCardlessBatch([{ resource_type: 'payments', action: 'confirmed', links: { payment } }]);
      expect((await postGoCardless(billflow.receiver, body)).status).toBe(200);
      const handle = billflow.client.workflow.getHandle(workflowId);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.dunning).toEqual([]);
        return current;
      });
      expect(state).toMatchObject({ status: 'active', customerId: customer });
      expect(state.lastEvent?.outcome).toBe(`dunning for ${payment} ended: paid`);
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(retriesOf(payment)).toHaveLength(2);
      expect(await billflow.store.get('gocardless', customer)).toBeUndefined();
      await keepHistory(handle, 'subscription-gocardless-dunning-paid');
    });

    it('does not retry while GoCardless retries by itself', async () => {
      const { subscription, payment } = seedGoCardless();
      await paymentFailed(payment, true);
      const handle = billflow.client.workflow.getHandle(`gocardless:subscription:${subscription}`);
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning[0]?.stage).toBe('provider_retrying'));
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(retriesOf(payment)).toEqual([]);
    });

    it('suspends the account when the schedule is exhausted, cancels at GoCardless, and reinstates on payment', async () => {
      const { subscription, payment, customer } = seedGoCardless();
      const workflowId = `gocardless:subscription:${subscription}`;
      await paymentFailed(payment);
      for (let step = 1; step <= 3; step += 1) {
        await eventually(async () => expect(retriesOf(payment)).toHaveLength(step));
        billflow.sandbox.state.gocardless.setPaymentStatus(payment, 'failed');
        await paymentFailed(payment);
      }
      await eventually(async () => expect((await billflow.store.get('gocardless', customer))?.status).toBe('suspended'));
      expect(retriesOf(payment).map((request) => request.headers['idempotency-key'])).toEqual([1, 2, 3].map((step) => `${workflowId}:dunning:${payment}:${step}`));
      await eventually(async () => expect(billflow.sandbox.state.gocardless.subscriptions.get(subscription)?.status).toBe('cancelled'));
      const cancels = billflow.sandbox.requests.filter((request) => request.method === 'POST' && request.path === `/gocardless/subscriptions/${subscription}/actions/cancel`);
      expect(cancels.map((request) => request.headers['idempotency-key'])).toEqual([`${workflowId}:dunning:${payment}:cancel`]);

      const handle = billflow.client.workflow.getHandle(workflowId);
      const suspended = await handle.query(subscriptionStateQuery);
      expect(suspended.status).toBe('suspended');
      await eventually(async () => {
        const attributes = (await handle.describe()).typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value]);
        expect(attributes).toEqual(expect.arrayContaining([['BillingProvider', 'gocardless'], ['BillingCustomer', customer], ['BillingStatus', 'suspended']]));
      });

      const { body } = goCardlessBatch([{ resource_type: 'payments', action: 'confirmed', links: { payment } }]);
      expect((await postGoCardless(billflow.receiver, body)).status).toBe(200);
      await eventually(async () => expect((await billflow.store.get('gocardless', customer))?.status).toBe('active'));
      expect((await billflow.store.get('gocardless', customer))?.history.map((change) => change.action)).toEqual(['suspend', 'reinstate']);
    });
  });

  describe('renewal (GoCardless subscriptions.payment_created)', () => {
    it('resets usage once per billing period, whether redelivered five times or arriving after a later period', async () => {
      const { subscription, customer } = seedGoCardless();
      const renewal = (createdAt: string) => ({ resource_type: 'subscriptions', action: 'payment_created', links: { subscription, payment: uniqueId('PM') }, created_at: createdAt });
      const march = goCardlessBatch([renewal('2026-03-01T09:00:00.000Z')]);
      for (let delivery = 0; delivery < 3; delivery += 1) expect((await postGoCardless(billflow.receiver, march.body)).status).toBe(200);
      // Two more notifications about the same period, with ids of their own.
      expect((await postGoCardless(billflow.receiver, goCardlessBatch([renewal('2026-03-01T09:00:05.000Z'), renewal('2026-03-01T10:00:00.000Z')]).body)).status).toBe(200);
      expect((await postGoCardless(billflow.receiver, goCardlessBatch([renewal('2026-04-01T09:00:00.000Z')]).body)).status).toBe(200);
      // A March notification GoCardless delivers late, after April's.
      expect((await postGoCardless(billflow.receiver, goCardlessBatch([renewal('2026-03-01T11:00:00.000Z')]).body)).status).toBe(200);

      const handle = billflow.client.workflow.getHandle(`gocardless:subscription:${subscription}`);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(5);
        return current;
      });
      expect(state.duplicatesDropped).toBe(2);
      expect(state.usagePeriods).toEqual(['2026-03-01', '2026-04-01']);
      const account = await billflow.store.get('gocardless', customer);
      expect(account?.history.filter((change) => change.action === 'reset_usage').map((change) => change.periodKey)).toEqual([`${subscription}:2026-03-01`, `${subscription}:2026-04-01`]);
      expect(account?.usagePeriod).toBe(`${subscription}:2026-04-01`);
    });

    it('holds more events than one run: continues as new and keeps every period and every event id', async () => {
      const { subscription, customer } = seedGoCardless();
      const days = Array.from({ length: 12 }, (_, index) => `2027-${String(index + 1).padStart(2, '0')}-01`);
      const batch = goCardlessBatch(days.map((day) => ({ resource_type: 'subscriptions', action: 'payment_created', links: { subscription }, created_at: `${day}T08:00:00.000Z` })));
      expect((await postGoCardless(billflow.receiver, batch.body)).status).toBe(200);
      expect((await postGoCardless(billflow.receiver, batch.body)).status).toBe(200); // the whole batch again

      const workflowId = `gocardless:subscription:${subscription}`;
      const handle = billflow.client.workflow.getHandle(workflowId);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(12);
        expect(current.duplicatesDropped).toBe(12);
        return current;
      });
      expect(state.usagePeriods).toEqual(days);
      // 24 signals, 5 a run: a run hands over as soon as it has taken 5, carrying the events it
      // has not applied yet, so a burst makes fewer runs than 24 / 5 — but never just one.
      expect(state.run).toBeGreaterThanOrEqual(2);
      // The state counts its runs; visibility (the list of runs) catches up eventually.
      await eventually(async () => expect(await runsOf(billflow.client, workflowId)).toHaveLength((await handle.query(subscriptionStateQuery)).run));
      const resets = (await billflow.store.get('gocardless', customer))?.history.filter((change) => change.action === 'reset_usage');
      expect(resets).toHaveLength(12);
    });
  });

  describe('Recurly (JSON notifications carry ids only)', () => {
    /** Posts the notification `trigger` builds for `event`, signed as Recurly signs it. */
    async function postRecurly(event: string, references: TriggerReferences): Promise<string> {
      const { body, headers } = recurlyWebhooks.build(event, recurlyWebhooks.complete(event, references), recurlySecret, new Date());
      const response = await fetch(`${billflow.receiver.url}/webhooks/recurly`, { method: 'POST', headers, body });
      expect(response.status).toBe(200);
      return headers['recurly-notification-id'] ?? '';
    }

    it('a payment event naming its transaction reaches the workflow its subscription\'s own events reach', async () => {
      const customer = `acct-${recurlyUuid().slice(0, 8)}`;
      const subscription = billflow.sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: customer });
      const transaction = billflow.sandbox.state.recurly.seedTransaction({ uuid: recurlyUuid(), accountCode: customer, subscriptionUuid: subscription.uuid, status: 'declined' });
      const workflowId = `recurly:subscription:${subscription.uuid}`;

      const failed = await postRecurly('payment.failed', { customer, payment: transaction.uuid });
      const resolver = billflow.client.workflow.getHandle<typeof paymentResolverWorkflow>(`recurly:payment:${transaction.uuid}`);
      await eventually(async () => expect(await resolver.query(resolverStateQuery)).toEqual({ forwarded: [{ eventId: failed, to: workflowId }], dropped: [] }));
      // Asked as Recurly v3 takes it: the transaction by uuid-, then its subscription by the Recurly id the transaction lists.
      const reads = billflow.sandbox.requests.filter((request) => request.provider === 'recurly').map((request) => `${request.method} ${request.path} ${request.status}`);
      expect(reads.slice(0, 2)).toEqual([`GET /recurly/transactions/uuid-${transaction.uuid} 200`, `GET /recurly/subscriptions/${subscription.id} 200`]);

      const canceled = await postRecurly('subscription.canceled', { customer, subscription: subscription.uuid });
      const handle = billflow.client.workflow.getHandle(workflowId);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.lastEvent?.id).toBe(canceled);
        return current;
      });
      expect(state).toMatchObject({ customerId: customer, eventsApplied: 2 });
      expect(billflow.sandbox.requests.every((request) => request.provider !== 'recurly' || request.status === 200)).toBe(true);
    });
  });

  describe('dunning (Stripe: a key keeps its first answer, a 500 included)', () => {
    it('a retry whose key got a 500 is retried by Temporal under that key, then made again under a new key, and pays once', async () => {
      const customer = uniqueId('cus_');
      const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, status: 'past_due' });
      const invoice = billflow.sandbox.state.stripe.seedInvoice({ customerId: customer, subscriptionId: subscription.id });
      // Stripe keeps this 500 for the key and replays it to every repeat (the sandbox does too).
      billflow.sandbox.failNext({ provider: 'stripe', method: 'POST', status: 500 });
      const now = Math.floor(Date.now() / 1000);
      const failed = {
        id: uniqueId('evt_'),
        object: 'event',
        api_version: '2025-03-31.basil',
        created: now,
        livemode: false,
        type: 'invoice.payment_failed',
        data: {
          object: {
            id: invoice.id,
            object: 'invoice',
            customer,
            status: 'open',
            attempt_count: 1,
            // Stripe will not retry by itself: billflow's schedule runs the retries.
            next_payment_attempt: null,
            parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id, metadata: {} } },
            created: now,
          },
        },
      };
      expect((await postStripe(billflow.receiver, failed)).status).toBe(200);

      const workflowId = `stripe:subscription:${subscription.id}`;
      const handle = billflow.client.workflow.getHandle(workflowId);
      const key = `${workflowId}:dunning:${invoice.id}:1`;
      const pays = () =>
        billflow.sandbox.requests
          .filter((request) => request.method === 'POST' && request.path === `/stripe/v1/invoices/${invoice.id}/pay`)
          .map((request) => [request.status, request.headers['idempotency-key']]);
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning).toEqual([]), 20_000);

      // The activity's retry kept its key and got the 500 replayed; the new attempt took a new key.
      expect(pays()).toEqual([
        [500, key],
        [500, key],
        [200, `${key}:attempt-2`],
      ]);
      expect(billflow.sandbox.state.stripe.invoices.get(invoice.id)).toMatchObject({ status: 'paid', attemptCount: 1 });
      const state = await handle.query(subscriptionStateQuery);
      expect(state.lastAction?.action).toBe(`retry 1 of 3 for ${invoice.id}: paid; dunning for ${invoice.id} ended: paid`);
      await keepHistory(handle, 'subscription-stripe-new-key-after-replayed-500');
    });
  });

  describe('cancellation, reactivation, expiry (Stripe)', () => {
    function seedStripe(cancelAtPeriodEnd: boolean) {
      const customer = uniqueId('cus_');
      const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, cancelAtPeriodEnd });
      return { customer, subscription: subscription.id };
    }

    it('keeps access until the period end, then ends it', async () => {
      const { customer, subscription } = seedStripe(true);
      const periodEnd = Math.ceil(Date.now() / 1000) + 2;
      const cancelled = stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, cancelAtPeriodEnd: true, periodEnd }, { cancel_at_period_end: false });
      expect((await postStripe(billflow.receiver, cancelled)).status).toBe(200);
      const handle = billflow.client.workflow.getHandle(`stripe:subscription:${subscription}`);
      const cancelling = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.status).toBe('cancelling');
        return current;
      });
      expect(cancelling.nextAction?.at).toBe(new Date(periodEnd * 1000).toISOString());
      expect(await billflow.store.get('stripe', customer)).toBeUndefined();

      const account = await eventually(async () => {
        const found = await billflow.store.get('stripe', customer);
        expect(found?.status).toBe('closed');
        return found;
      });
      expect(Date.parse(account?.changedAt ?? '')).toBeGreaterThanOrEqual(periodEnd * 1000);
      // Confirmed with Stripe before ending access.
      expect(billflow.sandbox.requests.some((request) => request.method === 'GET' && request.path.endsWith(`/subscriptions/${subscription}`))).toBe(true);
      await keepHistory(handle, 'subscription-stripe-end-of-access');
    });

    it('a reactivation before the period end keeps access; a late, older cancellation changes nothing', async () => {
      const { customer, subscription } = seedStripe(false);
      const periodEnd = Math.ceil(Date.now() / 1000) + 1;
      const cancelled = stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, cancelAtPeriodEnd: true, periodEnd }, { cancel_at_period_end: false });
      cancelled.created = Math.floor(Date.now() / 1000) - 30;
      const reactivated = stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, cancelAtPeriodEnd: false, periodEnd }, { cancel_at_period_end: true });
      // Delivered out of order: the reactivation first.
      expect((await postStripe(billflow.receiver, reactivated)).status).toBe(200);
      expect((await postStripe(billflow.receiver, cancelled)).status).toBe(200);
      const handle = billflow.client.workflow.getHandle(`stripe:subscription:${subscription}`);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(2);
        return current;
      });
      expect(state.lastEvent?.outcome).toBe('ignored: older than the current state');

      // In order this time: cancelled, then reactivated before the period ends.
      const { customer: other, subscription: second } = seedStripe(false);
      const secondEnd = Math.ceil(Date.now() / 1000) + 2;
      expect((await postStripe(billflow.receiver, stripeSubscriptionEvent('customer.subscription.updated', { id: second, customer: other, cancelAtPeriodEnd: true, periodEnd: secondEnd }, { cancel_at_period_end: false }))).status).toBe(200);
      const secondHandle = billflow.client.workflow.getHandle(`stripe:subscription:${second}`);
      await eventually(async () => expect((await secondHandle.query(subscriptionStateQuery)).status).toBe('cancelling'));
      expect((await postStripe(billflow.receiver, stripeSubscriptionEvent('customer.subscription.updated', { id: second, customer: other, cancelAtPeriodEnd: false, periodEnd: secondEnd }, { cancel_at_period_end: true }))).status).toBe(200);
      await eventually(async () => expect((await secondHandle.query(subscriptionStateQuery)).status).toBe('active'));
      await new Promise((resolve) => setTimeout(resolve, secondEnd * 1000 - Date.now() + 1000));
      expect(await billflow.store.get('stripe', other)).toBeUndefined();
      expect(await billflow.store.get('stripe', customer)).toBeUndefined();
    });

    it('an expiry (subscription deleted) ends access at once, after Stripe confirms it', async () => {
      const { customer, subscription } = seedStripe(false);
      billflow.sandbox.state.stripe.subscriptions.get(subscription)!.status = 'canceled';
      expect((await postStripe(billflow.receiver, stripeSubscriptionEvent('customer.subscription.deleted', { id: subscription, customer, status: 'canceled' }))).status).toBe(200);
      await eventually(async () => expect((await billflow.store.get('stripe', customer))?.status).toBe('closed'));
      await eventually(async () => expect((await billflow.client.workflow.getHandle(`stripe:subscription:${subscription}`).query(subscriptionStateQuery)).status).toBe('ended'));
    });
  });
});
