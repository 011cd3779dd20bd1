import { describe, expect, it } from 'vitest';
import { paymentKey } from '../../../workflows/subscription/dunning-state';
import { defaultSubscriptionPolicy, type SubscriptionPolicy } from '../../../workflows/subscription/policy';
import { SubscriptionState } from '../../../workflows/subscription/state';
import { billingEvent } from '../support/events';

/* Dunning's part of the subscription state, without Temporal: the stages a case goes through. */

const policy: SubscriptionPolicy = { ...defaultSubscriptionPolicy, dunningScheduleMs: [100, 200], suspensionGraceMs: 50 };
const now = Date.parse('2026-03-01T00:00:00Z');

function failure(invoice: string, occurredAt = '2026-03-01T00:00:00Z') {
  return billingEvent('payment.failed', { references: { invoice }, occurredAt });
}

function subscription(withPolicy = policy) {
  return SubscriptionState.fresh('stripe', 'sub_1', withPolicy);
}

describe('dunning state', () => {
  it('schedules each retry from the failure before it, then the suspension after the grace period', () => {
    const state = subscription();
    const open = state.dunning.open(failure('in_1'));
    expect(open).toMatchObject({ key: 'in_1', invoiceId: 'in_1', stage: 'awaiting_outcome', retriesMade: 0 });

    state.dunning.failed(open, undefined, now);
    expect(open).toMatchObject({ stage: 'retry_scheduled', dueAt: now + 100 });
    expect(state.status()).toBe('past_due');
    state.dunning.retried(open);
    expect(open).toMatchObject({ stage: 'awaiting_outcome', retriesMade: 1 });
    expect(open.dueAt).toBeUndefined();

    state.dunning.failed(open, undefined, now + 1000);
    expect(open).toMatchObject({ stage: 'retry_scheduled', dueAt: now + 1200 });
    state.dunning.retried(open);
    state.dunning.failed(open, undefined, now + 2000);
    expect(open).toMatchObject({ stage: 'suspension_scheduled', dueAt: now + 2050, retriesMade: 2 });

    state.dunning.exhausted(open);
    expect(open.stage).toBe('exhausted');
    expect(open.dueAt).toBeUndefined();
    expect(state.status()).toBe('suspended');
  });

  it('schedules the same retry again after a spent key, waiting twice as long each time up to an hour, and forgets it once the retry is made', () => {
    const state = subscription({ ...policy, reattemptDelayMs: 1000 });
    const open = state.dunning.open(failure('in_1'));
    state.dunning.failed(open, undefined, now);

    state.dunning.reattempt(open, now);
    expect(open).toMatchObject({ stage: 'retry_scheduled', dueAt: now + 1000, retriesMade: 0, reattempts: 1 });
    state.dunning.reattempt(open, now);
    expect(open).toMatchObject({ dueAt: now + 2000, reattempts: 2 });
    for (let n = 0; n < 20; n += 1) state.dunning.reattempt(open, now);
    expect(open.dueAt).toBe(now + 3_600_000);

    state.dunning.retried(open);
    expect(open).toMatchObject({ stage: 'awaiting_outcome', retriesMade: 1 });
    expect(open.reattempts).toBeUndefined();
  });

  it('waits a minute before a new attempt when the policy predates the setting', () => {
    const older: SubscriptionPolicy = { ...policy };
    delete older.reattemptDelayMs;
    const state = subscription(older);
    const open = state.dunning.open(failure('in_1'));
    state.dunning.reattempt(open, now);
    expect(open.dueAt).toBe(now + 60_000);
  });

  it('keeps the latest failure time and learns the payment from a later failure', () => {
    const state = subscription();
    const open = state.dunning.open(failure('in_1', '2026-03-02T00:00:00Z'));
    state.dunning.failed(open, billingEvent('payment.failed', { references: { invoice: 'in_1', payment: 'py_1' }, occurredAt: '2026-03-01T00:00:00Z' }), now);
    expect(open).toMatchObject({ lastFailedAt: '2026-03-02T00:00:00Z', paymentId: 'py_1' });
  });

  it('bounds the wait for a provider that retries by itself: its promised time (or the wait) plus the margin, then a check', () => {
    const state = subscription({ ...policy, providerRetryMarginMs: 10, providerRetryWaitMs: 1000 });
    const open = state.dunning.open(failure('in_1'));
    state.dunning.providerRetrying(open, failure('in_1'), { now, nextRetryAt: now + 500 });
    expect(open).toMatchObject({ stage: 'provider_retrying', dueAt: now + 510 });
    expect(state.nextDue()).toEqual({ kind: 'check_provider', at: now + 510, dunning: open });
    expect(state.nextAction()).toEqual({ action: "ask stripe how in_1 stands: no outcome of its own retry yet", at: new Date(now + 510).toISOString() });
    // No time promised, or one already past: the wait counts from now.
    state.dunning.providerRetrying(open, undefined, { now });
    expect(open.dueAt).toBe(now + 1010);
    state.dunning.providerRetrying(open, undefined, { now, nextRetryAt: now - 5000 });
    expect(open.dueAt).toBe(now + 10);
    // Workflows from before the bound: no check.
    state.dunning.providerRetrying(open, undefined);
    expect(state.nextDue()).toBeUndefined();
    // Policies from before the settings take the defaults: a day past the promise, three days without one.
    const older = subscription({ dunningScheduleMs: [100], providerManagedDunning: true, cancelAtProviderWhenExhausted: false, suspensionGraceMs: 0 });
    expect(older.dunning.providerCheckAt(now, now + 1)).toBe(now + 1 + 86_400_000);
    expect(older.dunning.providerCheckAt(now)).toBe(now + 4 * 86_400_000);
  });

  it('waits while the provider retries, and goes straight to the suspension when it gives up', () => {
    const state = subscription();
    const open = state.dunning.open(failure('in_1'));
    state.dunning.failed(open, undefined, now);
    state.dunning.providerRetrying(open, failure('in_1', '2026-03-03T00:00:00Z'));
    expect(open).toMatchObject({ stage: 'provider_retrying', lastFailedAt: '2026-03-03T00:00:00Z' });
    expect(open.dueAt).toBeUndefined();
    expect(state.nextDue()).toBeUndefined();

    state.dunning.providerGaveUp(open, failure('in_1', '2026-03-04T00:00:00Z'), now);
    expect(open).toMatchObject({ stage: 'suspension_scheduled', dueAt: now + 50, lastFailedAt: '2026-03-04T00:00:00Z' });
  });

  it('finds the case of an event by its invoice or by its payment', () => {
    const state = subscription();
    const byInvoice = state.dunning.open(failure('in_1'));
    const byPayment = state.dunning.open(billingEvent('payment.failed', { references: { payment: 'PM1' } }));
    expect(state.dunning.caseOf(billingEvent('payment.succeeded', { references: { invoice: 'in_1', payment: 'other' } }))).toBe(byInvoice);
    expect(state.dunning.caseOf(billingEvent('payment.succeeded', { references: { payment: 'PM1' } }))).toBe(byPayment);
    expect(state.dunning.caseOf(billingEvent('payment.succeeded', { references: { invoice: 'in_2' } }))).toBeUndefined();
    expect(paymentKey(billingEvent('payment.failed', { references: {} }))).toBeUndefined();
  });

  it('calls a failure stale when it is older than the invoice’s payment or than the last failure', () => {
    const state = subscription();
    state.dunning.paid({ key: 'in_1', at: '2026-03-05T00:00:00Z' });
    expect(state.dunning.isStaleFailure(failure('in_1', '2026-03-04T00:00:00Z'), undefined)).toBe(true);
    expect(state.dunning.isStaleFailure(failure('in_1', '2026-03-05T00:00:00Z'), undefined)).toBe(true);
    expect(state.dunning.isStaleFailure(failure('in_1', '2026-03-06T00:00:00Z'), undefined)).toBe(false);

    const open = state.dunning.open(failure('in_2', '2026-03-05T00:00:00Z'));
    expect(state.dunning.isStaleFailure(failure('in_2', '2026-03-04T00:00:00Z'), open)).toBe(true);
    expect(state.dunning.isStaleFailure(failure('in_2', '2026-03-06T00:00:00Z'), open)).toBe(false);
  });

  it('reinstates on payment only the suspension this dunning caused, once no other case is exhausted', () => {
    const state = subscription();
    const [first, second] = [state.dunning.open(failure('in_1')), state.dunning.open(failure('in_2'))];
    expect(state.dunning.paid({ key: 'in_1', at: '2026-03-02T00:00:00Z' })).toEqual({ closed: first, reinstate: false }); // never exhausted: nothing to undo

    state.dunning.exhausted(second);
    const reopened = state.dunning.open(failure('in_1', '2026-03-03T00:00:00Z'));
    state.dunning.exhausted(reopened);
    const paidFirst = state.dunning.paid({ key: 'in_1', at: '2026-03-04T00:00:00Z' });
    expect(paidFirst).toMatchObject({ closed: reopened, reinstate: false }); // in_2 still exhausted
    expect(state.dunning.suspendedForNonPayment).toBe(true);

    const paidSecond = state.dunning.paid({ key: 'in_2', at: '2026-03-04T00:00:00Z' });
    expect(paidSecond).toMatchObject({ closed: second, reinstate: true });
    expect(state.dunning.suspendedForNonPayment).toBe(false);
    expect(state.dunning.cases).toEqual([]);
    expect(state.status()).toBe('active');
  });

  it('does not reinstate an account whose access has ended', () => {
    const state = subscription();
    const open = state.dunning.open(failure('in_1'));
    state.dunning.exhausted(open);
    state.endAccess();
    expect(state.dunning.paid({ key: 'in_1', at: '2026-03-04T00:00:00Z' }).reinstate).toBe(false);
  });

  it('remembers the last 100 settled invoices, each once with its latest payment', () => {
    const state = subscription();
    for (let n = 0; n < 120; n += 1) state.dunning.paid({ key: `in_${n}`, at: '2026-03-01T00:00:00Z' });
    state.dunning.paid({ key: 'in_119', at: '2026-03-09T00:00:00Z' });
    const { settled } = state.snapshot();
    expect(settled).toHaveLength(100);
    expect(settled[0]?.key).toBe('in_20');
    expect(settled.filter((entry) => entry.key === 'in_119')).toEqual([{ key: 'in_119', at: '2026-03-09T00:00:00Z' }]);
  });
});
