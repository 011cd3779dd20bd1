import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWinBackActivities, type WinBackOffer } from '../../examples/win-back/activities';
import { winBackRoute } from '../../examples/win-back/route';
import { workflowRoutes } from '../../src/workflow-routes';
import { winBackStateQuery } from '../../workflows/examples/win-back';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { postStripe, startBillflow, stripeSubscriptionEvent, type Billflow } from '../workflows/support/e2e';
import { uniqueId } from '../workflows/support/harness';
import { keepHistory } from '../workflows/support/histories';

/*
 * A workflow written by a user — the win-back example — receives billflow's events through the
 * real receiver, routed by one entry in `workflowRoutes`, in addition to billflow's own
 * subscription workflow: one delivery fans out to both.
 */
describe('a user-written workflow routed by one configuration entry', () => {
  let billflow: Billflow;
  const offers: WinBackOffer[] = [];
  const route = winBackRoute({ offerDelay: '1 second' });

  beforeAll(async () => {
    workflowRoutes.push(route);
    billflow = await startBillflow({}, createWinBackActivities(async (offer) => void offers.push(offer)));
  });

  afterAll(async () => {
    workflowRoutes.splice(workflowRoutes.indexOf(route), 1);
    await billflow?.close();
  });

  function seedStripe() {
    const customer = uniqueId('cus_');
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, cancelAtPeriodEnd: true }).id;
    return { customer, subscription };
  }

  const periodEnd = () => Math.floor(Date.now() / 1000) + 86_400;

  it('sends the win-back offer after the delay, once, beside billflow\'s own workflow', async () => {
    const { customer, subscription } = seedStripe();
    const cancelled = stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, cancelAtPeriodEnd: true, periodEnd: periodEnd() }, { cancel_at_period_end: false });
    const response = await postStripe(billflow.receiver, cancelled);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 1 });

    const winBack = billflow.client.workflow.getHandle(`stripe:win-back:${subscription}`);
    expect((await winBack.describe()).type).toBe('winBackWorkflow');
    const own = billflow.client.workflow.getHandle(`stripe:subscription:${subscription}`);
    await eventually(async () => expect((await own.query(subscriptionStateQuery)).status).toBe('cancelling'));

    await eventually(async () => expect(offers.filter((offer) => offer.subscriptionId === subscription)).toEqual([
      { provider: 'stripe', subscriptionId: subscription, customerId: customer, idempotencyKey: `stripe:win-back:${subscription}:offer:${cancelled.id as string}` },
    ]));
    // Stripe redelivers the cancellation: the workflow's inbox drops it, no second offer.
    expect((await postStripe(billflow.receiver, cancelled)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(offers.filter((offer) => offer.subscriptionId === subscription)).toHaveLength(1);
    expect(await winBack.query(winBackStateQuery)).toMatchObject({ offersSent: 1 });
    await keepHistory(winBack, 'win-back-offer-sent');
  });

  it('sends nothing when the subscription is reactivated before the offer is due', async () => {
    const { customer, subscription } = seedStripe();
    const end = periodEnd();
    expect((await postStripe(billflow.receiver, stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, cancelAtPeriodEnd: true, periodEnd: end }, { cancel_at_period_end: false }))).status).toBe(200);
    expect((await postStripe(billflow.receiver, stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, cancelAtPeriodEnd: false, periodEnd: end }, { cancel_at_period_end: true }))).status).toBe(200);
    const winBack = billflow.client.workflow.getHandle(`stripe:win-back:${subscription}`);
    await eventually(async () => expect((await winBack.query(winBackStateQuery)).changedAt).toBeDefined());
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(offers.filter((offer) => offer.subscriptionId === subscription)).toEqual([]);
    expect(await winBack.query(winBackStateQuery)).toMatchObject({ offersSent: 0 });
    expect((await winBack.query(winBackStateQuery)).offerDueAt).toBeUndefined();
  });
});
