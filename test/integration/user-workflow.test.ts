import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import type { CancellationNotice } from '../support/user-workflows/cancellation-notice';
import { cancellationNoticeRoute, userWorkflowsPath } from '../support/user-workflow-route';
import { postStripe, startBillflow, stripeSubscriptionEvent, type Billflow } from '../workflows/support/e2e';
import { uniqueId } from '../workflows/support/harness';

/*
 * A workflow written by a user receives billflow's events through the real receiver, routed by one
 * entry in the routes given to the receiver, in addition to billflow's own subscription workflow:
 * one delivery fans out to both. The worker runs the user's workflows file (billflow's workflows
 * re-exported next to theirs) and their activity next to billflow's. The win-back example, a
 * complete user project, runs in examples/starter's own test.
 */
describe('a user-written workflow routed by one entry passed to the receiver', () => {
  let billflow: Billflow;
  const notices: CancellationNotice[] = [];

  beforeAll(async () => {
    billflow = await startBillflow({}, { recordNotice: async (notice: CancellationNotice) => void notices.push(notice) }, { routes: [cancellationNoticeRoute], workflowsPath: userWorkflowsPath });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  function seedStripe() {
    const customer = uniqueId('cus_');
    const subscription = billflow.sandbox.state.stripe.seedSubscription({ customerId: customer, cancelAtPeriodEnd: true }).id;
    return { customer, subscription };
  }

  const periodEnd = () => Math.floor(Date.now() / 1000) + 86_400;

  it('runs the user\'s workflow beside billflow\'s own, once per event however often it is delivered', async () => {
    const { customer, subscription } = seedStripe();
    const cancelled = stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, cancelAtPeriodEnd: true, periodEnd: periodEnd() }, { cancel_at_period_end: false });
    const response = await postStripe(billflow.receiver, cancelled);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 1 });

    const notice = billflow.client.workflow.getHandle(`stripe:notice:${subscription}`);
    expect((await notice.describe()).type).toBe('cancellationNoticeWorkflow');
    const own = billflow.client.workflow.getHandle(`stripe:subscription:${subscription}`);
    await eventually(async () => expect((await own.query(subscriptionStateQuery)).status).toBe('cancelling'));
    await eventually(async () => expect(notices.filter((entry) => entry.subscriptionId === subscription)).toEqual([
      { subscriptionId: subscription, eventId: cancelled.id as string, kind: 'subscription.cancelled' },
    ]));

    // Stripe redelivers the cancellation: the workflow's inbox drops it, no second notice.
    expect((await postStripe(billflow.receiver, cancelled)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(notices.filter((entry) => entry.subscriptionId === subscription)).toHaveLength(1);
  });

  it('leaves out of the user\'s workflow the kinds its route does not list', async () => {
    const { customer, subscription } = seedStripe();
    const periodStart = Math.floor(Date.now() / 1000);
    const renewed = stripeSubscriptionEvent('customer.subscription.updated', { id: subscription, customer, periodStart, periodEnd: periodEnd() }, { current_period_start: periodStart - 30 * 86_400 });
    expect((await postStripe(billflow.receiver, renewed)).status).toBe(200);
    const own = billflow.client.workflow.getHandle(`stripe:subscription:${subscription}`);
    await eventually(async () => expect((await own.describe()).type).toBe('subscriptionWorkflow'));
    await expect(billflow.client.workflow.getHandle(`stripe:notice:${subscription}`).describe()).rejects.toThrow(/not found/i);
  });
});
