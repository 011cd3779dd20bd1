import { describe, expect, it } from 'vitest';
import { MandateState, type MandateSnapshot } from '../../../workflows/mandate/state';
import { recordedMandate } from '../../../workflows/recorded';
import { billingEvent } from '../support/events';

/* The mandate workflow's state without Temporal: access, its pending suspension, stale events. */

const fresh = (): MandateSnapshot => ({ provider: 'gocardless', mandateId: 'MD1', access: 'active', eventsApplied: 0, duplicatesDropped: 0 });
const at = (kind: Parameters<typeof billingEvent>[0], occurredAt: string) => billingEvent(kind, { provider: 'gocardless', references: { mandate: 'MD1' }, occurredAt });

describe('mandate state', () => {
  it('changes access by the newest event; an older one is stale', () => {
    const mandate = new MandateState(fresh());
    expect(mandate.isStale(at('mandate.cancelled', '2020-01-01T00:00:00Z'))).toBe(false);
    mandate.confirmed('cancelled', 'CU1');
    mandate.changeAccess('suspended', at('mandate.cancelled', '2026-03-02T00:00:00Z'));
    expect(mandate.snapshot()).toMatchObject({ access: 'suspended', customerId: 'CU1', mandateStatus: 'cancelled', accessChangedAt: '2026-03-02T00:00:00Z' });
    expect(mandate.isStale(at('mandate.reinstated', '2026-03-01T00:00:00Z'))).toBe(true);
    expect(mandate.isStale(at('mandate.reinstated', '2026-03-03T00:00:00Z'))).toBe(false);
  });

  it('holds a pending suspension until it is cancelled, by a reinstatement or by its own timer', () => {
    const mandate = new MandateState(fresh());
    const cancelled = at('mandate.cancelled', '2026-03-02T00:00:00Z');
    mandate.scheduleSuspension(5000, cancelled);
    expect(mandate.pendingSuspension).toEqual({ dueAt: 5000, event: cancelled });
    expect(mandate.access).toBe('active');
    expect(mandate.isStale(at('mandate.reinstated', '2026-03-01T00:00:00Z'))).toBe(true);

    mandate.cancelSuspension();
    expect(mandate.pendingSuspension).toBeUndefined();
    expect(mandate.snapshot().accessChangedAt).toBe('2026-03-02T00:00:00Z');
    mandate.scheduleSuspension(6000, cancelled);
    mandate.cancelSuspension(at('mandate.reinstated', '2026-03-03T00:00:00Z'));
    expect(mandate.snapshot().accessChangedAt).toBe('2026-03-03T00:00:00Z');
  });

  it('counts an event applied once, even when its outcome is known only after the grace period', () => {
    const mandate = new MandateState(fresh());
    const cancelled = at('mandate.cancelled', '2026-03-02T00:00:00Z');
    mandate.recordOutcome(cancelled, 'suspension scheduled');
    mandate.recordLaterOutcome(cancelled, 'account suspended after the grace period');
    expect(mandate.snapshot()).toMatchObject({ eventsApplied: 1, lastEvent: { id: cancelled.id, outcome: 'account suspended after the grace period' } });
  });

  it('answers a copy, with the duplicates dropped so far', () => {
    const initial = fresh();
    const mandate = new MandateState(initial);
    mandate.changeAccess('suspended', at('mandate.cancelled', '2026-03-02T00:00:00Z'));
    expect(initial.access).toBe('active');
    expect(mandate.snapshot().duplicatesDropped).toBe(0);
    expect(mandate.snapshot(4).duplicatesDropped).toBe(4);
  });

  it('reads a GoCardless mandate recorded before the provider-neutral confirmation as that one answers', () => {
    expect(recordedMandate({ id: 'MD1', status: 'cancelled', customerId: 'CU1' })).toEqual({ id: 'MD1', status: 'cancelled', customerId: 'CU1', usable: false });
    for (const status of ['failed', 'expired', 'consumed', 'blocked', 'suspended_by_payer']) expect(recordedMandate({ id: 'MD1', status, customerId: 'CU1' }).usable).toBe(false);
    for (const status of ['pending_customer_approval', 'pending_submission', 'submitted', 'active']) expect(recordedMandate({ id: 'MD1', status, customerId: 'CU1' }).usable).toBe(true);
  });
});
