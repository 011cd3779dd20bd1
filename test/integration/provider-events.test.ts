import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/core/events';
import { buildWebhook, receiverEnvironment, seedSandbox, sendWebhook, type TestWebhook } from '../../src/testing';
import type { TriggerReferences } from '../../src/testing/webhooks/types';
import { invoiceVersionId } from '../../src/providers/billforward/testing/webhooks';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { goCardlessSecret, startBillflow, type Billflow } from '../workflows/support/e2e';

const billforwardCredentials = 'bf-events:bf-events-secret';

/*
 * CCBill's, BillForward's and GoCardless's events as `billflow trigger` builds and seeds them, through the real
 * receiver to the real worker on the dev server, its provider calls answered by the sandbox.
 */
describe('CCBill, BillForward and GoCardless events, each the way the provider means it', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({
      ...receiverEnvironment('ccbill', ''),
      ...receiverEnvironment('billforward', billforwardCredentials),
      BILLFLOW_DUNNING_SCHEDULE: '300ms,300ms',
    });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  /** Builds the event as `trigger` does (with `change` applied to its JSON body), seeds the sandbox as `trigger` does, and delivers it. */
  async function deliver(provider: ProviderName, event: string, references: TriggerReferences, change?: (body: Record<string, unknown>) => void): Promise<TestWebhook> {
    const secret = provider === 'billforward' ? billforwardCredentials : provider === 'gocardless' ? goCardlessSecret : undefined;
    const webhook = buildWebhook(provider, event, { references, ...(secret ? { secret } : {}) });
    if (change) {
      const body = JSON.parse(webhook.body) as Record<string, unknown>;
      change(body);
      webhook.body = JSON.stringify(body);
    }
    await seedSandbox(billflow.sandbox.url, webhook);
    const response = await sendWebhook(billflow.receiver.url, webhook);
    expect(response.status).toBe(200);
    return webhook;
  }

  const subscriptionOf = (provider: ProviderName, id: string) => billflow.client.workflow.getHandle(`${provider}:subscription:${id}`);
  const digits = (count: number) => Array.from({ length: count }, () => Math.floor(Math.random() * 10)).join('');

  describe('CCBill', () => {
    it('a RenewalSuccess closes the case its RenewalFailure opened', async () => {
      const subscription = `01${digits(17)}`;
      await deliver('ccbill', 'RenewalFailure', { subscription, payment: `01${digits(17)}` });
      const handle = subscriptionOf('ccbill', subscription);
      await eventually(async () => expect(await handle.query(subscriptionStateQuery)).toMatchObject({ status: 'past_due', dunning: [{ stage: 'provider_retrying' }] }));

      // CCBill's retry went through: a rebill of its own, under a new transaction id.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await deliver('ccbill', 'RenewalSuccess', { subscription, payment: `01${digits(17)}` });
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(2);
        return current;
      });
      expect(state).toMatchObject({ status: 'active', dunning: [] });
      expect(state.lastEvent?.outcome).toMatch(/^dunning for \d+ ended: paid; usage reset for period /);
    });

    it('reads CCBill\'s timestamps as Mountain Standard Time (UTC−07:00)', async () => {
      const subscription = `01${digits(17)}`;
      await deliver('ccbill', 'RenewalFailure', { subscription }, (body) => {
        body.timestamp = '2025-09-04 06:49:08';
      });
      const handle = subscriptionOf('ccbill', subscription);
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.occurredAt).toBe('2025-09-04T13:49:08.000Z'));

      // What trigger sends "now" is now, not seven hours ago.
      const other = `01${digits(17)}`;
      await deliver('ccbill', 'RenewalFailure', { subscription: other });
      const occurredAt = await eventually(async () => {
        const at = (await subscriptionOf('ccbill', other).query(subscriptionStateQuery)).lastEvent?.occurredAt;
        expect(at).toBeDefined();
        return at ?? '';
      });
      expect(Math.abs(Date.now() - Date.parse(occurredAt))).toBeLessThan(120_000);
    });

    it('a BillingDateChange moves a cancelled subscription\'s end of access, and the next renewal of a live one', async () => {
      const subscription = `01${digits(17)}`;
      await deliver('ccbill', 'Cancellation', { subscription });
      const handle = subscriptionOf('ccbill', subscription);
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('cancelling'));

      const moved = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
      // The sandbox keeps the cancelled subscription as the Cancellation left it.
      const webhook = buildWebhook('ccbill', 'BillingDateChange', { references: { subscription } });
      const body = JSON.parse(webhook.body) as Record<string, unknown>;
      body.nextRenewalDate = moved;
      expect((await sendWebhook(billflow.receiver.url, { ...webhook, body: JSON.stringify(body) })).status).toBe(200);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(2);
        return current;
      });
      expect(state.status).toBe('cancelling');
      expect(state.nextAction?.at).toBe(`${moved}T00:00:00.000Z`);
      expect(state.renewsAt).toBe(`${moved}T00:00:00.000Z`);

      const live = `01${digits(17)}`;
      await deliver('ccbill', 'BillingDateChange', { subscription: live }, (changed) => {
        changed.nextRenewalDate = moved;
      });
      const liveState = await eventually(async () => {
        const current = await subscriptionOf('ccbill', live).query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(1);
        return current;
      });
      expect(liveState).toMatchObject({ status: 'active', renewsAt: `${moved}T00:00:00.000Z` });
      expect(liveState.lastEvent?.outcome).toBe(`the next renewal moved to ${moved}T00:00:00.000Z`);
    });
  });

  describe('BillForward', () => {
    const executesOf = (invoice: string) => billflow.sandbox.requests.filter((request) => request.method === 'POST' && request.path === `/billforward/invoices/${invoice}/execute`);
    const ids = () => {
      const unique = digits(12);
      return { customer: `ACC-${unique}`, subscription: `SUB-${unique}`, invoice: `INV-${unique}`, payment: `RCP-${unique}` };
    };

    it('Invoice.Unpaid (an issued invoice) opens no dunning and executes nothing', async () => {
      const references = ids();
      await deliver('billforward', 'Invoice.Unpaid', references);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const started = await subscriptionOf('billforward', references.subscription).describe().then(() => true, () => false);
      expect(started).toBe(false);
      expect(executesOf(references.invoice)).toEqual([]);
    });

    it('Receipt.Reject is a failed payment of its invoice, retried by its invoice id when BillForward will not retry within the period', async () => {
      const references = ids();
      await deliver('billforward', 'Receipt.Reject', references);
      const handle = subscriptionOf('billforward', references.subscription);
      // A receipt names no next attempt: billflow's schedule runs, and executes the invoice by its id.
      await eventually(async () => expect(executesOf(references.invoice).length).toBeGreaterThan(0));
      // The sandbox's execute collects it: the case closes.
      await eventually(async () => expect(await handle.query(subscriptionStateQuery)).toMatchObject({ status: 'active', dunning: [] }));

      const late = ids();
      await deliver('billforward', 'Invoice.PaymentFailed', late, (body) => {
        const entity = JSON.parse(body.entity as string) as Record<string, unknown>;
        entity.nextExecutionAttempt = new Date(Date.parse(entity.periodEnd as string) + 86_400_000).toISOString();
        body.entity = JSON.stringify(entity);
      });
      await eventually(async () => expect(executesOf(late.invoice).length).toBeGreaterThan(0));
      // The notification's entityID is the invoice's version: never what is executed.
      expect(billflow.sandbox.requests.filter((request) => request.path.includes(invoiceVersionId(late.invoice)))).toEqual([]);

      // BillForward's next attempt within the period: billflow waits for it.
      const inPeriod = ids();
      await deliver('billforward', 'Invoice.PaymentFailed', inPeriod);
      await eventually(async () => expect((await subscriptionOf('billforward', inPeriod.subscription).query(subscriptionStateQuery)).dunning[0]?.stage).toBe('provider_retrying'));
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(executesOf(inPeriod.invoice)).toEqual([]);
    });

    it('Subscription.Failed ends access at subscriptionEnd, confirmed with BillForward', async () => {
      const references = ids();
      const end = new Date(Date.now() + 2000).toISOString();
      await deliver('billforward', 'Subscription.Failed', references, (body) => {
        const entity = JSON.parse(body.entity as string) as Record<string, unknown>;
        entity.subscriptionEnd = end;
        body.entity = JSON.stringify(entity);
      });
      const handle = subscriptionOf('billforward', references.subscription);
      const cancelling = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.status).toBe('cancelling');
        return current;
      });
      expect(cancelling.nextAction?.at).toBe(end);
      expect(await billflow.store.get('billforward', references.customer)).toBeUndefined();
      await eventually(async () => expect((await billflow.store.get('billforward', references.customer))?.status).toBe('closed'), 15_000);
      await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('ended'));
    });
  });

  describe('GoCardless', () => {
    it('subscriptions.cancelled keeps access until the end of the period its last collected payment paid for', async () => {
      const webhook = await deliver('gocardless', 'subscriptions.cancelled', {});
      const { subscription = '', customer = '' } = webhook.references;
      const handle = subscriptionOf('gocardless', subscription);
      const state = await eventually(async () => {
        const current = await handle.query(subscriptionStateQuery);
        expect(current.eventsApplied).toBe(1);
        return current;
      });
      // trigger seeded a payment collected today, monthly: paid for until the same day next month.
      const today = new Date();
      const paidUntil = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, Math.min(today.getUTCDate(), new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 2, 0)).getUTCDate())));
      expect(state).toMatchObject({ status: 'cancelling', nextAction: { at: paidUntil.toISOString() } });
      expect(await billflow.store.get('gocardless', customer)).toBeUndefined();
    });

    it('payments.late_failure_settled is a failed payment: the subscription\'s dunning retries it', async () => {
      const webhook = await deliver('gocardless', 'payments.late_failure_settled', {});
      const { subscription = '', payment = '' } = webhook.references;
      const retries = () => billflow.sandbox.requests.filter((request) => request.method === 'POST' && request.path === `/gocardless/payments/${payment}/actions/retry`);
      await eventually(async () => expect(retries()).toHaveLength(1));
      // The sandbox sees the retry while its activity runs; the workflow counts it once the activity completes.
      await eventually(async () => {
        const state = await subscriptionOf('gocardless', subscription).query(subscriptionStateQuery);
        expect(state.dunning.map((open) => [open.key, open.retriesMade])).toEqual([[payment, 1]]);
      });
      expect(retries()).toHaveLength(1);
    });
  });
});
