import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BillingEvent } from '../../src/core/events';
import { billforward } from '../../src/providers/billforward/webhook';
import { gocardless } from '../../src/providers/gocardless/webhook';
import { recurly } from '../../src/providers/recurly/webhook';
import { stripe } from '../../src/providers/stripe/webhook';
import type { WebhookProvider } from '../../src/providers/types';
import { factsOf } from '../../workflows/facts';
import { billingPeriodOf, periodEndOf, providerWillRetry } from '../../workflows/subscription/facts';
import { fixture, request } from '../providers/helpers';
import { billingEvent } from './support/events';

/*
 * Workflows read canonical facts only. An event recorded before the parsers filled them in carried
 * the provider's fields in `facts` (today's `details`); read through workflows/recorded.ts it must
 * lead to the decisions the workflows took from those fields then, or recorded histories would
 * take another path on replay.
 */

/** What the subscription workflow decides from an event's facts. */
const decisions = (event: BillingEvent) => ({ willRetry: providerWillRetry(event), period: billingPeriodOf(event), periodEnd: periodEndOf(event) });

/** The event as it was recorded before: the provider's fields in `facts`. */
const recordedBefore = (event: BillingEvent) => ({ ...event, facts: event.details as BillingEvent['facts'] });

function parsedFixtures(provider: WebhookProvider<never>, folder: string, pattern: RegExp, contentType = 'application/json'): BillingEvent[] {
  const root = path.join(__dirname, '../fixtures', folder);
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => pattern.test(file));
  return files.flatMap((file) => {
    try {
      return provider.parse(request(fixture(folder, file), { 'content-type': contentType }));
    } catch {
      return []; // a fixture of the failure cases
    }
  });
}

describe('canonical facts', () => {
  const fixtures: [string, BillingEvent[]][] = [
    ['stripe', parsedFixtures(stripe as WebhookProvider<never>, 'stripe', /^events\/.*\.json$/)],
    ['billforward', parsedFixtures(billforward as WebhookProvider<never>, 'billforward', /^bf-java\/.*\.json$/)],
    ['recurly XML', parsedFixtures(recurly as WebhookProvider<never>, 'recurly', /^xml\/.*\.xml$/, 'text/xml')],
    ['gocardless', parsedFixtures(gocardless as WebhookProvider<never>, 'gocardless', /webhook_(body|request)\.json$/)],
  ];

  it.each(fixtures)('%s: every fixture leads to the same decisions read from its canonical facts as from its fields recorded before', (_, events) => {
    expect(events.length).toBeGreaterThan(2);
    for (const event of events) expect(decisions(event), `${event.type} ${event.id}`).toEqual(decisions(recordedBefore(event)));
  });

  it('reads the fields each provider recorded before, in the order the workflows looked for them', () => {
    const recorded = (facts: Record<string, unknown>) => factsOf({ facts: facts as BillingEvent['facts'] });
    expect(recorded({ will_attempt_retry: true, new_mandate: 'MD2' })).toEqual({ providerWillRetry: true, replacementMandate: 'MD2' });
    expect(recorded({ will_attempt_retry: false })).toEqual({}); // then as now: not a retry by the provider
    expect(recorded({ nextRetryDate: '2025-09-07', renewalDate: '2025-08-07', nextRenewalDate: '2025-10-07' })).toEqual({
      providerWillRetry: true,
      nextRetryAt: '2025-09-07',
      periodStart: '2025-08-07',
      periodEnd: '2025-10-07',
    });
    expect(recorded({ next_payment_attempt: null, current_period_end: '2026-04-01T00:00:00.000Z', cancel_at: '2026-03-15T00:00:00.000Z' })).toEqual({ periodEnd: '2026-03-15T00:00:00.000Z' });
    expect(recorded({ currentPeriodStart: 1_700_000_000 })).toEqual({ periodStart: '2023-11-14T22:13:20.000Z' });
    expect(recorded({ current_period_started_at: '' })).toEqual({});
  });

  it('takes the canonical facts of an event of today as they are', () => {
    const event = billingEvent('payment.failed', { facts: { providerWillRetry: false, nextRetryAt: '2026-03-02' } });
    expect(factsOf(event)).toEqual({ providerWillRetry: false, nextRetryAt: '2026-03-02' });
    expect(providerWillRetry(event)).toBe(false);
    expect(billingPeriodOf(billingEvent('subscription.renewed', { facts: { periodStart: '2026-03-01 10:00:00' } }))).toBe('2026-03-01T10:00:00.000Z');
    expect(billingPeriodOf(billingEvent('subscription.renewed', { occurredAt: '2026-03-05T08:00:00Z' }))).toBe('2026-03-05');
    expect(periodEndOf(billingEvent('subscription.cancelled', { facts: { periodEnd: '2026-04-01' } }))).toBe(Date.parse('2026-04-01'));
  });
});
