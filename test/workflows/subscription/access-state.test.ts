import { describe, expect, it } from 'vitest';
import { defaultSubscriptionPolicy } from '../../../workflows/subscription/policy';
import { SubscriptionState } from '../../../workflows/subscription/state';
import { billingEvent } from '../support/events';

/* End of access's part of the subscription state: pending end, reactivation, the end, stale events. */

const at = (iso: string) => ({ occurredAt: iso });

describe('access state', () => {
  it('schedules the end of access, and a reactivation drops it', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', defaultSubscriptionPolicy);
    const endsAt = Date.parse('2026-04-01T00:00:00Z');
    state.access.scheduleEnd(endsAt, billingEvent('subscription.cancelled', at('2026-03-10T00:00:00Z')));
    expect(state.status()).toBe('cancelling');
    expect(state.nextDue()).toEqual({ kind: 'end_access', at: endsAt });
    expect(state.nextAction()).toEqual({ action: 'end access: the cancelled subscription reaches its period end', at: '2026-04-01T00:00:00.000Z' });

    state.access.reactivated(billingEvent('subscription.reactivated', at('2026-03-11T00:00:00Z')));
    expect(state.access.endsAt).toBeUndefined();
    expect(state.status()).toBe('active');
    expect(state.access.isStale(billingEvent('subscription.cancelled', at('2026-03-10T12:00:00Z')))).toBe(true);
    expect(state.access.isStale(billingEvent('subscription.cancelled', at('2026-03-12T00:00:00Z')))).toBe(false);
  });

  it('ends access for good: open dunning is closed, exhausted cases stay on record', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', defaultSubscriptionPolicy);
    const exhausted = state.dunning.open(billingEvent('payment.failed', { references: { invoice: 'in_1' } }));
    state.dunning.exhausted(exhausted);
    const open = state.dunning.open(billingEvent('payment.failed', { references: { invoice: 'in_2' } }));
    state.dunning.failed(open, undefined, Date.now());
    state.access.scheduleEnd(Date.now() + 1000, billingEvent('subscription.cancelled', at('2026-03-10T00:00:00Z')));

    state.endAccess(billingEvent('subscription.expired', at('2026-03-09T00:00:00Z')));
    expect(state.access.ended).toBe(true);
    expect(state.access.endsAt).toBeUndefined();
    expect(state.dunning.cases.map((open) => open.key)).toEqual(['in_1']);
    expect(state.nextDue()).toBeUndefined();
    expect(state.status()).toBe('ended');
    // An expiry older than the cancellation does not move the lifecycle back.
    expect(state.snapshot().lifecycleChangedAt).toBe('2026-03-10T00:00:00Z');
  });

  it('drops a pending end without touching the lifecycle time', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', defaultSubscriptionPolicy);
    state.access.scheduleEnd(Date.now(), billingEvent('subscription.cancelled', at('2026-03-10T00:00:00Z')));
    state.access.cancelEnd();
    expect(state.access.endsAt).toBeUndefined();
    expect(state.snapshot().lifecycleChangedAt).toBe('2026-03-10T00:00:00Z');
  });
});
