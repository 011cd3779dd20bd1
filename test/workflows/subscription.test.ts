import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountActivities } from '../../activities/accounts';
import type { BillingMandate, GetMandateStatusInput } from '../../activities/billing';
import { AccountStore } from '../../src/store/account-store';
import { openDatabase, type Database } from '../../src/store/database';
import { createForwardingActivities } from '../../activities/forwarding';
import type { WorkflowSettings } from '../../src/workflow-settings';
import { accountStateQuery } from '../../workflows/account';
import { mandateStateQuery } from '../../workflows/mandate';
import { resolverStateQuery } from '../../workflows/resolver';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { FakeBilling } from './support/fake-billing';
import { billingEvent, connectClient, currentDetails, deliver, runsOf, startTestWorker, uniqueId } from './support/harness';
import { keepHistory } from './support/histories';

/*
 * The subscription, resolver and account workflows on a real Temporal dev server and a real
 * worker, with the real account store and a fake provider layer (its calls recorded): each
 * process and each property, with durations of a fraction of a second.
 */

const fast: Partial<WorkflowSettings> = { dunningScheduleMs: [300, 300, 300] };

/** Mandate statuses the mandate workflow's confirmation answers; any other mandate is cancelled. */
const mandateStatuses = new Map<string, string>();

/** The mandate workflow's confirmation; each mandate's customer is named after the mandate, `CU-<id>`. A mandate set `unknown` is refused for good, as a provider's 404. */
async function getMandateStatus({ mandateId }: GetMandateStatusInput): Promise<BillingMandate> {
  const status = mandateStatuses.get(mandateId) ?? 'cancelled';
  if (status === 'unknown') throw ApplicationFailure.nonRetryable(`the provider does not know mandate ${mandateId}`, 'NotFound');
  return { id: mandateId, status, customerId: `CU-${mandateId.replace(/-NEW$/, '')}`, usable: status === 'active' };
}

describe('subscription workflow', () => {
  let client: Client;
  let database: Database;
  let store: AccountStore;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  const billing = new FakeBilling();

  beforeAll(async () => {
    database = await openDatabase({});
    store = new AccountStore(database);
    worker = await startTestWorker({ ...createAccountActivities(store), ...billing.activities(), ...createForwardingActivities(), getMandateStatus });
    client = await connectClient();
  });

  afterAll(async () => {
    await worker?.shutdown();
    await client?.connection.close();
    await database?.close();
  });

  function send(events: Parameters<typeof deliver>[2], settings: Partial<WorkflowSettings> = fast) {
    return deliver(client, worker.taskQueue, events, { settings });
  }

  function subscriptionHandle(provider: string, subscriptionId: string) {
    return client.workflow.getHandle(`${provider}:subscription:${subscriptionId}`);
  }

  describe('dunning', () => {
    it('retries on schedule with one idempotency key per step, and a payment ends it', async () => {
      const [subscription, customer, invoice] = [uniqueId('sub_'), uniqueId('cus_'), uniqueId('in_')];
      const references = { subscription, customer, invoice };
      const handle = subscriptionHandle('stripe', subscription);
      const keyOf = (step: number) => `stripe:subscription:${subscription}:dunning:${invoice}:${step}`;
      const retriesOf = () => billing.retries().filter((retry) => retry.invoiceId === invoice);

      await send([billingEvent('payment.failed', { references })]);
      const scheduled = await eventually(async () => {
        const state = await handle.query(subscriptionStateQuery);
        expect(state.status).toBe('past_due');
        return state;
      });
      expect(scheduled.nextAction?.action).toBe(`retry payment ${invoice} (retry 1 of 3)`);

      await eventually(async () => expect(retriesOf().map((retry) => retry.idempotencyKey)).toEqual([keyOf(1)]));
      const waiting = await eventually(async () => {
        const state = await handle.query(subscriptionStateQuery);
        expect(state.dunning[0]?.stage).toBe('awaiting_outcome');
        return state;
      });
      expect(waiting.nextAction?.action).toBe(`wait for the outcome of retry 1 of 3 for ${invoice}`);

      await send([billingEvent('payment.failed', { references })]);
      await eventually(async () => expect(retriesOf().map((retry) => retry.idempotencyKey)).toEqual([keyOf(1), keyOf(2)]));
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning[0]?.stage).toBe('awaiting_outcome'));

      await send([billingEvent('payment.succeeded', { references })]);
      const paid = await eventually(async () => {
        const state = await handle.query(subscriptionStateQuery);
        expect(state.dunning).toEqual([]);
        return state;
      });
      expect(paid.status).toBe('active');
      expect(paid.lastEvent?.outcome).toBe(`dunning for ${invoice} ended: paid`);
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(retriesOf()).toHaveLength(2);
      expect(await store.get('stripe', customer)).toBeUndefined();
    });

    it('suspends once the schedule is exhausted, cancels at the provider if configured, and reinstates on payment', async () => {
      const [subscription, customer, invoice] = [uniqueId('sub_'), uniqueId('cus_'), uniqueId('in_')];
      const references = { subscription, customer, invoice };
      const handle = subscriptionHandle('stripe', subscription);
      billing.subscriptions.set(subscription, { customerId: customer });
      const declined = billing.retryOutcome;
      billing.retryOutcome = (input) => (input.invoiceId === invoice ? 'failed' : declined(input));

      await send([billingEvent('payment.failed', { references })], { dunningScheduleMs: [200, 200], cancelAtProviderWhenExhausted: true });
      await eventually(async () => expect((await store.get('stripe', customer))?.status).toBe('suspended'));
      expect(billing.retries().filter((retry) => retry.invoiceId === invoice)).toHaveLength(2);
      // Asked the provider before suspending: still unpaid there.
      expect(billing.callsOf('getPaymentStatus')).toContainEqual({ provider: 'stripe', invoiceId: invoice });
      const workflowId = `stripe:subscription:${subscription}`;
      await eventually(async () =>
        expect(billing.callsOf('cancelSubscription')).toContainEqual({ provider: 'stripe', subscriptionId: subscription, idempotencyKey: `${workflowId}:dunning:${invoice}:cancel` }),
      );
      const suspended = await handle.query(subscriptionStateQuery);
      expect(suspended.status).toBe('suspended');
      expect(suspended.dunning[0]).toMatchObject({ stage: 'exhausted', retriesMade: 2 });
      await eventually(async () => {
        const attributes = (await handle.describe()).typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value]);
        expect(attributes).toEqual(expect.arrayContaining([['BillingProvider', 'stripe'], ['BillingCustomer', customer], ['BillingStatus', 'suspended']]));
      });
      expect(await currentDetails(handle)).toMatch(/subscription .* \*\*suspended\*\*/);

      await send([billingEvent('payment.succeeded', { references })]);
      await eventually(async () => expect((await store.get('stripe', customer))?.status).toBe('active'));
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('active'));
      const history = (await store.get('stripe', customer))?.history.map((change) => change.action);
      expect(history).toEqual(['suspend', 'reinstate']);
      await keepHistory(handle, 'subscription-dunning-exhausted-reinstated');
    });

    it('does not suspend when the provider says the invoice was paid meanwhile (its webhook lost)', async () => {
      const [subscription, customer, invoice] = [uniqueId('sub_'), uniqueId('cus_'), uniqueId('in_')];
      const references = { subscription, customer, invoice };
      const handle = subscriptionHandle('stripe', subscription);
      billing.subscriptions.set(subscription, { customerId: customer });
      const declined = billing.retryOutcome;
      billing.retryOutcome = (input) => {
        if (input.invoiceId !== invoice) return declined(input);
        // The last retry is declined here, but the customer pays by hand before the suspension.
        if (billing.retries().filter((retry) => retry.invoiceId === invoice).length === 2) billing.paid.add(invoice);
        return 'failed';
      };

      await send([billingEvent('payment.failed', { references })], { dunningScheduleMs: [200, 200] });
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning).toEqual([]));
      const state = await handle.query(subscriptionStateQuery);
      expect(state.status).toBe('active');
      expect(state.lastAction?.action).toBe(`dunning for ${invoice} ended: stripe says it is paid (paid), account not suspended`);
      expect(billing.callsOf('getPaymentStatus').filter((call) => (call as { invoiceId?: string }).invoiceId === invoice)).toEqual([{ provider: 'stripe', invoiceId: invoice }]);
      expect(await store.get('stripe', customer)).toBeUndefined();
    });

    it('waits while the provider retries by itself, and takes over when it gives up', async () => {
      const [subscription, customer, payment] = [uniqueId('SB'), uniqueId('CU'), uniqueId('PM')];
      const references = { subscription, customer, payment };
      const handle = subscriptionHandle('gocardless', subscription);
      const retriesOf = () => billing.retries().filter((retry) => retry.paymentId === payment);

      await send([billingEvent('payment.failed', { provider: 'gocardless', references, facts: { providerWillRetry: true } })]);
      const waiting = await eventually(async () => {
        const state = await handle.query(subscriptionStateQuery);
        expect(state.dunning[0]?.stage).toBe('provider_retrying');
        return state;
      });
      // Not for ever: GoCardless is asked if no outcome has come by the wait plus the margin (3 days + 1 day).
      expect(waiting.nextAction?.action).toBe(`ask gocardless how ${payment} stands: no outcome of its own retry yet`);
      expect(Date.parse(waiting.nextAction?.at ?? '') - Date.now()).toBeGreaterThan(3.9 * 86_400_000);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(retriesOf()).toEqual([]);

      await send([billingEvent('payment.failed', { provider: 'gocardless', references, facts: { providerWillRetry: false } })]);
      await eventually(async () => expect(retriesOf().map((retry) => retry.idempotencyKey)).toEqual([`gocardless:subscription:${subscription}:dunning:${payment}:1`]));
    });

    it('suspends when a provider that runs its own dunning says it will not retry again', async () => {
      const [subscription, customer, invoice] = [uniqueId('sub_'), uniqueId('cus_'), uniqueId('in_')];
      const references = { subscription, customer, invoice };
      const settings = { ...fast, providerManagedDunning: ['stripe' as const], suspensionGraceMs: 200 };
      const handle = subscriptionHandle('stripe', subscription);
      await send([billingEvent('payment.failed', { references, facts: { providerWillRetry: true } })], settings);
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).dunning[0]?.stage).toBe('provider_retrying'));

      await send([billingEvent('payment.failed', { references, facts: { providerWillRetry: false } })], settings);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.status).toBe('suspended');
        return current;
      });
      expect(state.lastAction?.action).toBe(`dunning for ${invoice} exhausted: account suspended`);
      expect((await store.get('stripe', customer))?.status).toBe('suspended');
      expect(billing.retries().filter((retry) => retry.invoiceId === invoice)).toEqual([]);
      expect(billing.callsOf('getPaymentStatus')).toContainEqual({ provider: 'stripe', invoiceId: invoice });
      await keepHistory(handle, 'subscription-provider-gave-up');
    });

    it('never retries for a provider that runs its own dunning (CCBill by default)', async () => {
      const [subscription, payment] = [uniqueId(''), uniqueId('')];
      const references = { subscription, payment };
      await send([
        billingEvent('payment.failed', { provider: 'ccbill', references, facts: { providerWillRetry: true, nextRetryAt: '2030-01-01' } }),
        billingEvent('payment.failed', { provider: 'ccbill', references: { subscription, payment: uniqueId('') } }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 700));
      const state = await subscriptionHandle('ccbill', subscription).query(subscriptionStateQuery);
      expect(state.dunning.map((open) => open.stage)).toEqual(['provider_retrying', 'provider_retrying']);
      expect(billing.retries().filter((retry) => retry.provider === 'ccbill')).toEqual([]);
    });

    it('ignores a failure older than the payment that settled its invoice', async () => {
      const [subscription, customer, invoice] = [uniqueId('sub_'), uniqueId('cus_'), uniqueId('in_')];
      const references = { subscription, customer, invoice };
      const failedAt = new Date(Date.now() - 60_000);
      await send([billingEvent('payment.succeeded', { references }), billingEvent('payment.failed', { references, occurredAt: failedAt })]);
      const state = await eventually(async () => {
        const current = await subscriptionHandle('stripe', subscription).query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(2);
        return current;
      });
      expect(state.lastEvent?.outcome).toBe(`ignored: older than the current state of ${invoice}`);
      expect(state.status).toBe('active');
      expect(state.dunning).toEqual([]);
    });
  });

  describe('renewal', () => {
    it('resets usage exactly once per billing period, whatever is redelivered or late', async () => {
      const [subscription, customer] = [uniqueId('sub_'), uniqueId('cus_')];
      const references = { subscription, customer };
      const january = { periodStart: '2026-01-01T00:00:00.000Z' };
      const february = { periodStart: '2026-02-01T00:00:00.000Z' };
      const first = billingEvent('subscription.renewed', { references, facts: january });
      await send([
        first,
        first,
        ...Array.from({ length: 4 }, () => billingEvent('subscription.renewed', { references, facts: january })),
        billingEvent('subscription.renewed', { references, facts: february }),
        billingEvent('subscription.renewed', { references, facts: january }),
      ]);
      const handle = subscriptionHandle('stripe', subscription);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(7);
        return current;
      });
      expect(state.duplicatesDropped).toBe(1);
      expect(state.usagePeriods).toEqual([january.periodStart, february.periodStart]);
      expect(state.lastEvent?.outcome).toBe(`ignored: usage already reset for period ${january.periodStart}`);
      // A renewal of a period before the current one, never seen, arrives late: it must not wipe February's usage.
      await send([billingEvent('subscription.renewed', { references, facts: { periodStart: '2025-12-01T00:00:00.000Z' } })]);
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toMatch(/^ignored: period 2025-12-01.* is older than the current period/));
      await keepHistory(handle, 'subscription-renewals');
      const account = await store.get('stripe', customer);
      expect(account?.history.filter((change) => change.action === 'reset_usage').map((change) => change.periodKey)).toEqual([
        `${subscription}:${january.periodStart}`,
        `${subscription}:${february.periodStart}`,
      ]);
      expect(account?.usagePeriod).toBe(`${subscription}:${february.periodStart}`);
    });
  });

  describe('cancellation and expiry', () => {
    it('keeps access until the period end, then ends it', async () => {
      const [subscription, customer] = [uniqueId('sub_'), uniqueId('cus_')];
      const periodEnd = new Date(Date.now() + 1500).toISOString();
      billing.subscriptions.set(subscription, { customerId: customer, status: 'active', cancelAtPeriodEnd: true, currentPeriodEnd: periodEnd });
      const handle = subscriptionHandle('stripe', subscription);
      await send([billingEvent('subscription.cancelled', { references: { subscription, customer }, facts: { periodEnd } })]);
      const cancelling = await eventually(async () => {
        const state = await handle.query(subscriptionStateQuery);
        expect(state.status).toBe('cancelling');
        return state;
      });
      expect(cancelling.nextAction).toEqual({ action: 'end access: the cancelled subscription reaches its period end', at: periodEnd });
      expect((await store.get('stripe', customer))?.status ?? 'active').toBe('active');

      const account = await eventually(async () => {
        const found = await store.get('stripe', customer);
        expect(found?.status).toBe('closed');
        return found;
      });
      expect(Date.parse(account?.changedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(periodEnd));
      expect((await handle.query(subscriptionStateQuery)).status).toBe('ended');
      await keepHistory(handle, 'subscription-end-of-access');
    });

    it('a reactivation before the period end cancels the pending end of access', async () => {
      const [subscription, customer] = [uniqueId('sub_'), uniqueId('cus_')];
      const references = { subscription, customer };
      const periodEnd = new Date(Date.now() + 1000).toISOString();
      await send([
        billingEvent('subscription.cancelled', { references, facts: { periodEnd } }),
        billingEvent('subscription.reactivated', { references }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1800));
      const state = await subscriptionHandle('stripe', subscription).query(subscriptionStateQuery);
      expect(state.status).toBe('active');
      expect(state.lastEvent?.outcome).toBe('reactivated: the pending end of access is cancelled');
      expect(await store.get('stripe', customer)).toBeUndefined();
    });

    it('a late cancellation older than the reactivation changes nothing', async () => {
      const [subscription, customer] = [uniqueId('sub_'), uniqueId('cus_')];
      const references = { subscription, customer };
      await send([
        billingEvent('subscription.reactivated', { references }),
        billingEvent('subscription.cancelled', { references, occurredAt: new Date(Date.now() - 60_000), facts: { periodEnd: new Date().toISOString() } }),
      ]);
      const state = await eventually(async () => {
        const current = await subscriptionHandle('stripe', subscription).query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(2);
        return current;
      });
      expect(state.status).toBe('active');
      expect(state.lastEvent?.outcome).toBe('ignored: older than the current state');
    });

    it('a state it already holds changes nothing: paused while paused, resumed while not paused, cancelled while ending (reconciled states come under ids of their own)', async () => {
      const [subscription, customer] = [uniqueId('sub_'), uniqueId('cus_')];
      const references = { subscription, customer };
      const periodEnd = new Date(Date.now() + 60_000).toISOString();
      billing.subscriptions.set(subscription, { customerId: customer, status: 'paused', currentPeriodEnd: periodEnd });
      const handle = subscriptionHandle('stripe', subscription);
      const outcomes: (string | undefined)[] = [];
      const apply = async (event: ReturnType<typeof billingEvent>) => {
        await send([event]);
        const applied = outcomes.length + 1;
        outcomes.push(await eventually(async () => {
          const state = await handle.query(subscriptionStateQuery);
          expect(state.eventsApplied).toBe(applied);
          return state.lastEvent?.outcome;
        }));
      };
      await apply(billingEvent('subscription.resumed', { references }));
      await apply(billingEvent('subscription.paused', { references }));
      await apply(billingEvent('subscription.paused', { references }));
      await apply(billingEvent('subscription.resumed', { references }));
      await apply(billingEvent('subscription.resumed', { references }));
      await apply(billingEvent('subscription.cancelled', { references }));
      await apply(billingEvent('subscription.cancelled', { references }));
      expect(outcomes).toEqual([
        'ignored: not paused',
        'paused: no access until resumed',
        'ignored: already paused',
        'resumed: the account is active again',
        'ignored: not paused',
        `access ends at ${periodEnd}`,
        `ignored: access already ends at ${periodEnd}`,
      ]);
      expect((await store.get('stripe', customer))?.history.map((change) => change.action)).toEqual(['pause', 'resume']);
      await keepHistory(handle, 'subscription-held-state-no-op');
    });

    it('an expiry ends access at once, once the provider confirms it', async () => {
      const [subscription, customer] = [uniqueId('sub_'), uniqueId('cus_')];
      billing.subscriptions.set(subscription, { customerId: customer, status: 'expired' });
      await send([billingEvent('subscription.expired', { references: { subscription } })]);
      await eventually(async () => expect((await store.get('stripe', customer))?.status).toBe('closed'));
      expect(billing.callsOf('getSubscription')).toContainEqual({ provider: 'stripe', subscriptionId: subscription });

      // Not when the provider says the subscription still runs (a stale or wrong notification).
      const [running, runningCustomer] = [uniqueId('sub_'), uniqueId('cus_')];
      billing.subscriptions.set(running, { customerId: runningCustomer, status: 'active', currentPeriodEnd: new Date(Date.now() + 86_400_000).toISOString() });
      await send([billingEvent('subscription.expired', { references: { subscription: running } })]);
      const state = await eventually(async () => {
        const current = await subscriptionHandle('stripe', running).query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(1);
        return current;
      });
      expect(state.lastEvent?.outcome).toMatch(/^ignored: stripe says the subscription is active until/);
      expect(await store.get('stripe', runningCustomer)).toBeUndefined();
    });
  });

  describe('long life', () => {
    it('continues as new after its signal cap, carrying state, dedupe and a pending retry', async () => {
      const [subscription, customer, invoice] = [uniqueId('sub_'), uniqueId('cus_'), uniqueId('in_')];
      const references = { subscription, customer, invoice };
      // The retry is due after the ten signals below are in, even on a loaded machine.
      const settings = { dunningScheduleMs: [12_000], maxSignalsPerRun: 4 };
      const handle = subscriptionHandle('stripe', subscription);
      const failure = billingEvent('payment.failed', { references });
      await send([billingEvent('subscription.renewed', { references, facts: { periodStart: '2026-03-01' } }), failure], settings);
      const before = await eventually(async () => {
        const state = await handle.query(subscriptionStateQuery);
        expect(state.eventsApplied).toBe(2);
        return state;
      });
      const dueAt = before.dunning[0]?.dueAt;
      expect(before.run).toBe(1);
      expect(dueAt).toBeGreaterThan(Date.now());

      // One at a time, each applied before the next, so every run takes exactly its cap of signals.
      for (let applied = 3; applied <= 12; applied += 1) {
        await send([billingEvent('subscription.resumed', { references })], settings);
        await eventually(async () => expect((await handle.query(subscriptionStateQuery)).eventsApplied).toBe(applied));
      }
      await send([failure], settings); // a redelivery after several hand-overs: still known

      const after = await eventually(async () => {
        const state = await handle.query(subscriptionStateQuery);
        expect(state.eventsApplied).toBe(12);
        expect(state.duplicatesDropped).toBe(1);
        return state;
      });
      expect(after.run).toBeGreaterThanOrEqual(3);
      await eventually(async () => expect(await runsOf(client, handle.workflowId)).toHaveLength((await handle.query(subscriptionStateQuery)).run));
      expect(after.usagePeriods).toEqual(['2026-03-01']);
      expect(after.dunning).toEqual([expect.objectContaining({ key: invoice, stage: 'retry_scheduled', dueAt })]);

      // The timer set in the first run fires in a later one, once.
      await eventually(async () => expect(billing.retries().filter((retry) => retry.invoiceId === invoice)).toHaveLength(1), 20_000);
      expect(Date.now()).toBeGreaterThanOrEqual(dueAt as number);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(billing.retries().filter((retry) => retry.invoiceId === invoice)).toHaveLength(1);
      await keepHistory(handle, 'subscription-continued-run');
    });
  });

  describe('resolver', () => {
    it('finds the subscription of a payment event and forwards the event to it', async () => {
      const [payment, subscription, customer, mandate] = [uniqueId('PM'), uniqueId('SB'), uniqueId('CU'), uniqueId('MD')];
      billing.subjects.set(payment, { subscriptionId: subscription, customerId: customer, mandateId: mandate });
      const failed = billingEvent('payment.failed', { provider: 'gocardless', references: { payment } });
      const workflowIds = await send([failed]);
      expect(workflowIds).toEqual([`gocardless:payment:${payment}`]);

      const state = await eventually(async () => {
        const current = await subscriptionHandle('gocardless', subscription).query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(1);
        return current;
      });
      expect(state.customerId).toBe(customer);
      expect(state.dunning[0]).toMatchObject({ key: payment, paymentId: payment, stage: 'retry_scheduled' });
      const resolver = client.workflow.getHandle(`gocardless:payment:${payment}`);
      expect(await resolver.query(resolverStateQuery)).toEqual({ forwarded: [{ eventId: failed.id, to: `gocardless:subscription:${subscription}` }], dropped: [] });
      // It ends once idle; the payment's next event starts a new one.
      await eventually(async () => expect((await resolver.describe()).status.name).toBe('COMPLETED'), 20_000);
      await keepHistory(resolver, 'payment-resolver');
    });

    it('drops a payment event that belongs to no subscription', async () => {
      const payment = uniqueId('PM');
      billing.subjects.set(payment, { mandateId: uniqueId('MD') });
      const event = billingEvent('payment.succeeded', { provider: 'gocardless', references: { payment } });
      await send([event]);
      const resolver = client.workflow.getHandle(`gocardless:payment:${payment}`);
      await eventually(async () => expect(await resolver.query(resolverStateQuery)).toEqual({ forwarded: [], dropped: [{ eventId: event.id, reason: 'belongs to no subscription' }] }));
    });
  });

  describe('mandate workflow', () => {
    it('suspends the account of a cancelled mandate at once without a grace period', async () => {
      const mandate = uniqueId('MD');
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${mandate}`))?.status).toBe('suspended'));
      await keepHistory(client.workflow.getHandle(`gocardless:mandate:${mandate}`), 'mandate-suspended');
    });

    it('upserts its search attributes only when they change', async () => {
      const mandate = uniqueId('MD');
      const handle = client.workflow.getHandle(`gocardless:mandate:${mandate}`);
      await send([billingEvent('mandate.created', { provider: 'gocardless', references: { mandate } })]);
      await send([billingEvent('mandate.active', { provider: 'gocardless', references: { mandate } })]);
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${mandate}`))?.status).toBe('suspended'));
      const upserted = async () =>
        (await handle.fetchHistory()).events
          ?.map((event) => event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields)
          .filter((fields) => fields && !('TemporalChangeVersion' in fields))
          .map((fields) => Object.keys(fields ?? {}).sort().join('+'));
      // After the first event (status), and once the cancellation suspended the confirmed customer (in
      // the task after the suspension, hence eventually); not again for active.
      await eventually(async () => expect(await upserted()).toEqual(['BillingStatus', 'BillingCustomer+BillingStatus']));
      await keepHistory(handle, 'mandate-upserts-on-change');
    });

    it('waits out the grace period before suspending, and not at all when the mandate comes back in time', async () => {
      const [late, back] = [uniqueId('MD'), uniqueId('MD')];
      // Long enough for the reinstatement below to arrive within it on a loaded machine (800 ms was not).
      const grace = { suspensionGraceMs: 4000 };
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate: late } })], grace);
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate: back } })], grace);
      const lateHandle = client.workflow.getHandle(`gocardless:mandate:${late}`);
      const pending = await eventually(async () => {
        const state = await lateHandle.query(mandateStateQuery);
        expect(state.pendingSuspension).toBeDefined();
        return state;
      });
      expect(pending.access).toBe('active');
      expect(await store.get('gocardless', `CU-${late}`)).toBeUndefined();
      // The reinstatement follows a cancellation the workflow has taken in (confirmed at the provider,
      // suspension pending), as it does in life: sent earlier, it can overtake that confirmation.
      const backHandle = client.workflow.getHandle(`gocardless:mandate:${back}`);
      await eventually(async () => expect((await backHandle.query(mandateStateQuery)).pendingSuspension).toBeDefined());

      mandateStatuses.set(back, 'active');
      await send([billingEvent('mandate.reinstated', { provider: 'gocardless', references: { mandate: back } })], grace);
      await eventually(async () => expect((await store.get('gocardless', `CU-${late}`))?.status).toBe('suspended'));
      await eventually(async () => expect((await lateHandle.query(mandateStateQuery)).lastEvent?.outcome).toBe('account suspended after the grace period'));
      await eventually(async () => expect((await client.workflow.getHandle(`gocardless:mandate:${back}`).query(mandateStateQuery)).lastEvent?.outcome).toBe('pending suspension cancelled: the mandate is back'));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await store.get('gocardless', `CU-${back}`)).toBeUndefined();
      await keepHistory(lateHandle, 'mandate-suspended-after-grace');
    });

    it('changes nothing for a mandate the provider does not know (refused for good), and goes on', async () => {
      const mandate = uniqueId('MD');
      mandateStatuses.set(mandate, 'unknown');
      const handle = client.workflow.getHandle(`gocardless:mandate:${mandate}`);
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await handle.query(mandateStateQuery)).lastEvent?.outcome).toBe('not suspended: mandate is unknown at the provider'));
      expect(await store.get('gocardless', `CU-${mandate}`)).toBeUndefined();
      // Still running: a later event is applied.
      mandateStatuses.set(mandate, 'cancelled');
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${mandate}`))?.status).toBe('suspended'));
      await keepHistory(handle, 'mandate-unknown-at-provider');
    });

    it('a reinstated mandate lifts its own suspension only: one a chargeback took over stays', async () => {
      const mandate = uniqueId('MD');
      const customerId = `CU-${mandate}`;
      const handle = client.workflow.getHandle(`gocardless:mandate:${mandate}`);
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await store.get('gocardless', customerId))?.status).toBe('suspended'));
      // A chargeback of the customer's payment, meanwhile (the subscription workflow's suspension, taking it over).
      await store.suspend({ provider: 'gocardless', customerId, reason: 'chargeback', eventId: uniqueId('EV'), takeOver: true });

      mandateStatuses.set(mandate, 'active');
      await send([billingEvent('mandate.reinstated', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await handle.query(mandateStateQuery)).lastEvent?.outcome).toBe('mandate usable again; the account stays suspended for another reason'));
      expect(await store.get('gocardless', customerId)).toMatchObject({ status: 'suspended', reason: 'chargeback' });
      await keepHistory(handle, 'mandate-reinstated-other-suspension-kept');

      // Its own suspension is lifted as before.
      const other = uniqueId('MD');
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate: other } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${other}`))?.status).toBe('suspended'));
      mandateStatuses.set(other, 'active');
      await send([billingEvent('mandate.reinstated', { provider: 'gocardless', references: { mandate: other } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${other}`))?.status).toBe('active'));
    });

    it('reinstates the account when the mandate is replaced by one that can be charged', async () => {
      const mandate = uniqueId('MD');
      mandateStatuses.set(`${mandate}-NEW`, 'active');
      await send([billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${mandate}`))?.status).toBe('suspended'));
      await send([billingEvent('mandate.replaced', { provider: 'gocardless', references: { mandate }, facts: { replacementMandate: `${mandate}-NEW` } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${mandate}`))?.status).toBe('active'));
      const handle = client.workflow.getHandle(`gocardless:mandate:${mandate}`);
      await eventually(async () => expect((await handle.query(mandateStateQuery)).lastEvent?.outcome).toBe(`account reinstated: replaced by mandate ${mandate}-NEW`));
      await keepHistory(handle, 'mandate-replaced-reinstated');
    });

    it('continues as new after the configured signal cap, keeping its state and dedupe', async () => {
      const mandate = uniqueId('MD');
      const handle = client.workflow.getHandle(`gocardless:mandate:${mandate}`);
      const settings = { maxSignalsPerRun: 3 };
      const cancelled = billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } });
      await send([cancelled], settings);
      await eventually(async () => expect((await store.get('gocardless', `CU-${mandate}`))?.status).toBe('suspended'));
      for (let applied = 2; applied <= 7; applied += 1) {
        await send([billingEvent('mandate.created', { provider: 'gocardless', references: { mandate } })], settings);
        await eventually(async () => expect((await handle.query(mandateStateQuery)).eventsApplied).toBe(applied));
      }
      await send([cancelled], settings); // a redelivery after the hand-overs: still known
      await eventually(async () => expect((await handle.query(mandateStateQuery)).duplicatesDropped).toBe(1));
      expect(await handle.query(mandateStateQuery)).toMatchObject({ access: 'suspended', eventsApplied: 7, customerId: `CU-${mandate}` });
      expect((await runsOf(client, handle.workflowId)).length).toBeGreaterThanOrEqual(3);
    });
  });

  describe('account workflow', () => {
    it('ends access when the account is closed, once', async () => {
      const account = uniqueId('acct_');
      const closed = billingEvent('account.closed', { provider: 'recurly', references: { account } });
      const workflowIds = await send([closed, closed]);
      expect(workflowIds).toEqual([`recurly:account:${account}`]);
      await eventually(async () => expect((await store.get('recurly', account))?.status).toBe('closed'));
      const handle = client.workflow.getHandle(`recurly:account:${account}`);
      await eventually(async () => expect(await handle.query(accountStateQuery)).toMatchObject({ closed: true, eventsApplied: 1 }));
      await keepHistory(handle, 'account-closed');
    });

    it('keeps access when the provider shows the account open (reopened before the late notice came), and records why', async () => {
      const account = uniqueId('acct_');
      billing.openAccounts.add(account);
      await send([billingEvent('account.closed', { provider: 'recurly', references: { account } })]);
      const handle = client.workflow.getHandle(`recurly:account:${account}`);
      await eventually(async () =>
        expect(await handle.query(accountStateQuery)).toMatchObject({
          closed: false,
          lastEvent: { outcome: `ignored: account.closed not confirmed: recurly shows account ${account} active; access kept` },
        }),
      );
      expect(await store.get('recurly', account)).toMatchObject({ status: 'active', history: [expect.objectContaining({ action: 'record', changed: false })] });
      expect(billing.callsOf('getAccountStatus')).toContainEqual({ provider: 'recurly', accountId: account });
      await keepHistory(handle, 'account-closed-not-confirmed');

      // Closed again, and confirmed this time: access ends.
      billing.openAccounts.delete(account);
      await send([billingEvent('account.closed', { provider: 'recurly', references: { account } })]);
      await eventually(async () => expect((await store.get('recurly', account))?.status).toBe('closed'));
    });
  });

  // Each search-attribute upsert and each timer is an action Temporal Cloud bills: a workflow started
  // by its first event upserts the state after it only, an upsert repeats only on a change, and an
  // event that arrives while a retry waits leaves the retry's timer running.
  describe('Temporal actions beyond the business', () => {
    const history = async (handle: WorkflowHandle) => (await handle.fetchHistory()).events ?? [];
    const upserted = async (handle: WorkflowHandle): Promise<string[]> =>
      (await history(handle))
        .map((event) => Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}))
        // The SDK's own record of the patches a task took, exempt from billing, is not billflow's.
        .map((fields) => fields.filter((field) => field !== 'TemporalChangeVersion').sort().join('+'))
        .filter(Boolean);
    const timersStarted = async (handle: WorkflowHandle) => (await history(handle)).filter((event) => event.timerStartedEventAttributes).length;

    it('a mandate workflow started by its cancellation upserts its search attributes once, for the suspension', async () => {
      const mandate = uniqueId('MD');
      const handle = client.workflow.getHandle(`gocardless:mandate:${mandate}`);
      await deliver(client, worker.taskQueue, [billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate } })]);
      await eventually(async () => expect((await store.get('gocardless', `CU-${mandate}`))?.status).toBe('suspended'));
      // The upsert follows the suspension (a local activity) in the workflow task that completes it.
      await eventually(async () => expect(await upserted(handle)).toEqual(['BillingCustomer+BillingStatus']));
      await keepHistory(handle, 'mandate-upserts-after-first-event');
    });

    it('an account workflow upserts when the account closes, not again for a later event', async () => {
      const account = uniqueId('acct_');
      const handle = client.workflow.getHandle(`recurly:account:${account}`);
      await deliver(client, worker.taskQueue, [billingEvent('account.closed', { provider: 'recurly', references: { account } })]);
      await eventually(async () => expect((await store.get('recurly', account))?.status).toBe('closed'));
      // Another notice of the closure, with an id of its own: applied (ignored), nothing shown changes.
      await deliver(client, worker.taskQueue, [billingEvent('account.closed', { provider: 'recurly', references: { account } })]);
      await eventually(async () => expect((await handle.query(accountStateQuery)).eventsApplied).toBe(2));
      await eventually(async () => expect(await upserted(handle)).toEqual(['BillingCustomer+BillingStatus']));
      await keepHistory(handle, 'account-upserts-on-change');
    });

    it('keeps one timer for a retry while other events arrive before it is due', async () => {
      const [subscription, customer, invoice] = [uniqueId('sub_'), uniqueId('cus_'), uniqueId('in_')];
      const references = { subscription, customer, invoice };
      const handle = client.workflow.getHandle(`stripe:subscription:${subscription}`);
      const settings = { dunningScheduleMs: [3000, 3000, 3000] };
      await deliver(client, worker.taskQueue, [billingEvent('payment.failed', { references })], { settings });
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).nextAction?.action).toBe(`retry payment ${invoice} (retry 1 of 3)`));
      for (let other = 0; other < 2; other += 1) {
        await deliver(client, worker.taskQueue, [billingEvent('subscription.updated', { references: { subscription, customer } })], { settings });
      }
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).eventsApplied).toBe(3));
      await eventually(async () => expect(billing.retries().filter((retry) => retry.invoiceId === invoice)).toHaveLength(1), 15_000);
      expect(await timersStarted(handle)).toBe(1);
      await keepHistory(handle, 'subscription-one-timer-per-due-time');
    });
  });
});
