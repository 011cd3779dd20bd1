import { describe, expect, it } from 'vitest';
import { defaultSubscriptionPolicy } from '../../../workflows/subscription/policy';
import { SubscriptionState } from '../../../workflows/subscription/state';
import { billingEvent } from '../support/events';

/* The chargebacks' and the pause's parts of the subscription state: status, stale events, reversal. */

const at = (iso: string) => ({ occurredAt: iso });

describe('chargeback and pause state', () => {
  it('a chargeback that suspended makes the subscription suspended until it is reversed; a loss keeps it so', () => {
    const state = SubscriptionState.fresh('gocardless', 'SB1', defaultSubscriptionPolicy);
    const open = state.chargebacks.opened('PM1', billingEvent('payment.charged_back', at('2026-03-10T00:00:00Z')), true);
    expect(state.status()).toBe('suspended');
    expect(state.chargebacks.isStale(billingEvent('payment.chargeback_reversed', at('2026-03-09T00:00:00Z')), open)).toBe(true);

    state.chargebacks.moved(open, 'lost', '2026-03-11T00:00:00Z');
    expect(state.status()).toBe('suspended');
    state.chargebacks.moved(open, 'reversed', '2026-03-12T00:00:00Z');
    expect(state.status()).toBe('active');
    expect(state.snapshot().chargebacks).toEqual([{ key: 'PM1', stage: 'reversed', suspended: true, changedAt: '2026-03-12T00:00:00Z' }]);
  });

  it('a chargeback only recorded leaves the status alone', () => {
    const state = SubscriptionState.fresh('gocardless', 'SB1', defaultSubscriptionPolicy);
    state.chargebacks.opened('PM1', billingEvent('payment.charged_back', at('2026-03-10T00:00:00Z')), false);
    expect(state.status()).toBe('active');
  });

  it('paused until resumed; an older pause or resumption does not undo the newer', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', defaultSubscriptionPolicy);
    state.pause.pausedBy(billingEvent('subscription.paused', at('2026-03-10T00:00:00Z')));
    expect(state.status()).toBe('paused');
    expect(state.pause.isStale(billingEvent('subscription.resumed', at('2026-03-09T00:00:00Z')))).toBe(true);
    state.pause.resumedBy(billingEvent('subscription.resumed', at('2026-03-11T00:00:00Z')));
    expect(state.status()).toBe('active');
    expect(state.pause.isStale(billingEvent('subscription.paused', at('2026-03-10T12:00:00Z')))).toBe(true);
  });
});
