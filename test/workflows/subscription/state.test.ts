import { describe, expect, it } from 'vitest';
import { defaultSubscriptionPolicy, type SubscriptionPolicy } from '../../../workflows/subscription/policy';
import { SubscriptionState } from '../../../workflows/subscription/state';
import { billingEvent } from '../support/events';

/* What the subscription state shares between its processes: the next timer, the view, the hand-over. */

const policy: SubscriptionPolicy = { ...defaultSubscriptionPolicy, dunningScheduleMs: [1000, 2000, 3000] };

describe('subscription state', () => {
  it('names the earliest timer-driven step and what it waits for otherwise', () => {
    const state = SubscriptionState.fresh('gocardless', 'SB1', policy);
    expect(state.nextDue()).toBeUndefined();
    expect(state.nextAction()).toBeUndefined();

    const later = state.dunning.open(billingEvent('payment.failed', { references: { payment: 'PM2' } }));
    state.dunning.failed(later, undefined, 5000);
    const sooner = state.dunning.open(billingEvent('payment.failed', { references: { payment: 'PM1' } }));
    state.dunning.failed(sooner, undefined, 0);
    state.access.scheduleEnd(9000, billingEvent('subscription.cancelled'));
    expect(state.nextDue()).toEqual({ kind: 'retry', at: 1000, dunning: sooner });
    expect(state.nextAction()).toEqual({ action: 'retry payment PM1 (retry 1 of 3)', at: '1970-01-01T00:00:01.000Z' });

    state.dunning.retried(sooner);
    state.dunning.retried(later);
    state.access.cancelEnd();
    expect(state.nextAction()).toEqual({ action: 'wait for the outcome of retry 1 of 3 for PM2' });
    state.dunning.providerRetrying(later, billingEvent('payment.failed'));
    state.dunning.providerRetrying(sooner, billingEvent('payment.failed'));
    expect(state.nextAction()).toEqual({ action: "wait for gocardless's own retry of PM2" });
  });

  it('learns the customer once, from the first event or look-up that names one', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', policy);
    state.learnCustomer(undefined);
    state.learnCustomer('');
    expect(state.customerId).toBeUndefined();
    state.learnCustomer('cus_1');
    state.learnCustomer('cus_2');
    expect(state.customerId).toBe('cus_1');
  });

  it('records the last event and step, and counts the events applied', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', policy);
    const event = billingEvent('subscription.renewed', { id: 'evt_1', occurredAt: '2026-03-01T00:00:00Z' });
    state.recordOutcome(event, 'usage reset for period 2026-03-01');
    state.recordAction('retry 1 of 3 for in_1 sent', Date.parse('2026-03-02T00:00:00Z'));
    expect(state.view()).toMatchObject({
      eventsApplied: 1,
      lastEvent: { id: 'evt_1', type: 'subscription.renewed', occurredAt: '2026-03-01T00:00:00Z', outcome: 'usage reset for period 2026-03-01' },
      lastAction: { action: 'retry 1 of 3 for in_1 sent', at: '2026-03-02T00:00:00.000Z' },
      dunningSteps: 3,
    });
  });

  it('hands over a copy: the next run starts where this one stood, its own state untouched', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', policy);
    const open = state.dunning.open(billingEvent('payment.failed', { references: { invoice: 'in_1' } }));
    state.dunning.failed(open, undefined, 0);
    const carried = state.handOver(3);
    expect(carried).toMatchObject({ run: 2, duplicatesDropped: 3, status: 'past_due', dunning: [{ key: 'in_1', stage: 'retry_scheduled', dueAt: 1000 }] });
    carried.dunning[0]!.stage = 'exhausted';
    expect(state.dunning.cases[0]?.stage).toBe('retry_scheduled');

    const next = new SubscriptionState(carried, policy);
    carried.dunning.length = 0;
    expect(next.dunning.cases).toHaveLength(1);
    expect(next.handOver(2)).toMatchObject({ run: 3, duplicatesDropped: 5 });
    expect(JSON.parse(JSON.stringify(next.view()))).toEqual(next.view());
  });
});
