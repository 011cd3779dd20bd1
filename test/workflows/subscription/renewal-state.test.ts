import { describe, expect, it } from 'vitest';
import { defaultSubscriptionPolicy } from '../../../workflows/subscription/policy';
import { SubscriptionState } from '../../../workflows/subscription/state';

/* Renewal's part of the subscription state: usage is reset once per period, never for an older one. */

describe('renewal state', () => {
  it('refuses a period already reset, an older one, and any once access has ended', () => {
    const state = SubscriptionState.fresh('recurly', 'uuid-1', defaultSubscriptionPolicy);
    expect(state.renewal.refusal('2026-03-01')).toBeUndefined();
    state.renewal.usageReset('2026-03-01');
    expect(state.renewal.refusal('2026-03-01')).toBe('usage already reset for period 2026-03-01');
    expect(state.renewal.refusal('2026-02-01')).toBe('period 2026-02-01 is older than the current period 2026-03-01');
    expect(state.renewal.refusal('2026-04-01')).toBeUndefined();
    state.endAccess();
    expect(state.renewal.refusal('2026-04-01')).toBe('access has ended');
  });

  it('compares periods as times, whatever their precision', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', defaultSubscriptionPolicy);
    state.renewal.usageReset('2026-03-01T10:00:00.000Z');
    expect(state.renewal.refusal('2026-03-01')).toMatch(/older than the current period/);
    expect(state.renewal.refusal('2026-03-02')).toBeUndefined();
  });

  it('keeps the last 24 periods', () => {
    const state = SubscriptionState.fresh('stripe', 'sub_1', defaultSubscriptionPolicy);
    for (let year = 2001; year <= 2030; year += 1) state.renewal.usageReset(`${year}-01-01`);
    const { usagePeriods } = state.snapshot();
    expect(usagePeriods).toHaveLength(24);
    expect(usagePeriods[0]).toBe('2007-01-01');
    expect(usagePeriods.at(-1)).toBe('2030-01-01');
  });
});
