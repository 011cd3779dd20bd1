import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { routeEvent, routeEvents } from '../../src/routing';
import type { WorkflowRouteEntry } from '../../src/workflow-routes';
import { defaultWorkflowSettings } from '../../src/workflow-settings';
import { billingEvent } from './support/events';

const day = 86_400_000;

describe('routing of billing events to workflows', () => {
  it('sends subscription events and payments naming their subscription to the subscription workflow, with the policy', () => {
    for (const kind of ['subscription.renewed', 'subscription.cancelled', 'payment.failed', 'payment.succeeded'] as const) {
      const route = routeEvent(billingEvent(kind, { provider: 'stripe', references: { subscription: 'sub_1', invoice: 'in_1' } }));
      expect(route).toEqual({
        workflowType: 'subscriptionWorkflow',
        workflowId: 'stripe:subscription:sub_1',
        args: [{ provider: 'stripe', subscriptionId: 'sub_1', policy: { dunningScheduleMs: [3 * day, 5 * day, 7 * day], providerManagedDunning: false, cancelAtProviderWhenExhausted: false, suspensionGraceMs: 0, reattemptDelayMs: 60_000, pausedMeansNoAccess: true, chargebackReaction: 'suspend', providerRetryMarginMs: day, providerRetryWaitMs: 3 * day, maxSignalsPerRun: 2000 } }],
      });
    }
  });

  it('sends a payment event without its subscription to the resolver of that payment (or invoice)', () => {
    expect(routeEvent(billingEvent('payment.failed', { provider: 'gocardless', references: { payment: 'PM1' } }))).toMatchObject({
      workflowType: 'paymentResolverWorkflow',
      workflowId: 'gocardless:payment:PM1',
      args: [{ provider: 'gocardless', subscriptionPolicy: expect.objectContaining({ dunningScheduleMs: defaultWorkflowSettings.dunningScheduleMs }) }],
    });
    expect(routeEvent(billingEvent('payment.succeeded', { provider: 'recurly', references: { invoice: '1001' } }))?.workflowId).toBe('recurly:invoice:1001');
    // A subscription event without a subscription id has nowhere to go.
    expect(routeEvent(billingEvent('subscription.renewed', { provider: 'recurly', references: { account: 'acct' } }))).toBeUndefined();
  });

  it('marks CCBill and Recurly (or the configured providers) as running their own dunning', () => {
    const ccbill = routeEvent(billingEvent('payment.failed', { provider: 'ccbill', references: { subscription: '0101' } }));
    expect(ccbill?.args[0]).toMatchObject({ policy: { providerManagedDunning: true } });
    expect(routeEvent(billingEvent('payment.failed', { provider: 'recurly', references: { subscription: 'u1' } }))?.args[0]).toMatchObject({ policy: { providerManagedDunning: true } });
    const settings = { ...defaultWorkflowSettings, providerManagedDunning: ['stripe' as const] };
    expect(routeEvent(billingEvent('payment.failed', { provider: 'stripe', references: { subscription: 'sub_1' } }), settings)?.args[0]).toMatchObject({ policy: { providerManagedDunning: true } });
    expect(routeEvent(billingEvent('payment.failed', { provider: 'ccbill', references: { subscription: 'u1' } }), settings)?.args[0]).toMatchObject({ policy: { providerManagedDunning: false } });
  });

  it('sends mandate events to the mandate workflow and closed accounts to the account workflow', () => {
    expect(routeEvent(billingEvent('mandate.cancelled', { provider: 'gocardless', references: { mandate: 'MD1' } }))).toEqual({
      workflowType: 'mandateWorkflow',
      workflowId: 'gocardless:mandate:MD1',
      args: [{ provider: 'gocardless', mandateId: 'MD1', maxSignalsPerRun: 2000 }],
    });
    const graceful = routeEvent(billingEvent('mandate.failed', { provider: 'gocardless', references: { mandate: 'MD1' } }), { ...defaultWorkflowSettings, suspensionGraceMs: 5000 });
    expect(graceful?.args).toEqual([{ provider: 'gocardless', mandateId: 'MD1', maxSignalsPerRun: 2000, suspensionGraceMs: 5000 }]);
    expect(routeEvent(billingEvent('account.closed', { provider: 'stripe', references: { customer: 'cus_1' } }))?.workflowId).toBe('stripe:account:cus_1');
    expect(routeEvent(billingEvent('account.closed', { provider: 'recurly', references: { account: 'code-1', customer: 'x' } }))?.workflowId).toBe('recurly:account:code-1');
    expect(routeEvent(billingEvent('refund.created', { references: { refund: 'RF1' } }))).toBeUndefined();
  });

  it('fans an event out to the user\'s workflows too, each signalled once', () => {
    const cancelled = billingEvent('subscription.cancelled', { provider: 'stripe', references: { subscription: 'sub_9' } });
    const audit: WorkflowRouteEntry = { kinds: ['subscription.cancelled', 'payment.failed'], workflowType: 'auditWorkflow', workflowId: (event) => `audit:${event.provider}` };
    const clash: WorkflowRouteEntry = { kinds: ['subscription.cancelled'], workflowType: 'other', workflowId: () => 'stripe:subscription:sub_9' };
    const winBack: WorkflowRouteEntry = {
      kinds: ['subscription.cancelled', 'subscription.reactivated'],
      workflowType: 'winBackWorkflow',
      workflowId: (event) => event.references.subscription && `${event.provider}:win-back:${event.references.subscription}`,
      args: (event) => [{ provider: event.provider, subscriptionId: event.references.subscription, offerDelay: '2 days' }],
    };
    const routes = routeEvents(cancelled, { userRoutes: [winBack, audit, clash] });
    expect(routes).toEqual([
      expect.objectContaining({ workflowType: 'subscriptionWorkflow', workflowId: 'stripe:subscription:sub_9' }),
      { workflowType: 'winBackWorkflow', workflowId: 'stripe:win-back:sub_9', args: [{ provider: 'stripe', subscriptionId: 'sub_9', offerDelay: '2 days' }] },
      { workflowType: 'auditWorkflow', workflowId: 'audit:stripe', args: [] },
    ]);
    // Kinds not listed, or an event the entry skips (no subscription), reach only billflow's own.
    expect(routeEvents(billingEvent('subscription.renewed', { references: { subscription: 's' } }), { userRoutes: [winBack] })).toHaveLength(1);
    // Without routes given, billflow's own workflow only.
    expect(routeEvents(cancelled)).toEqual([expect.objectContaining({ workflowType: 'subscriptionWorkflow' })]);
    expect(routeEvents(billingEvent('subscription.cancelled', { references: {} }), { userRoutes: [winBack] })).toEqual([]);
  });
});

describe('workflow settings from the environment', () => {
  it('defaults to retries after 3, 5 and 7 days, CCBill and Recurly managing their own dunning', () => {
    expect(loadConfig({}).workflows).toEqual({
      dunningScheduleMs: [3 * day, 5 * day, 7 * day],
      providerManagedDunning: ['ccbill', 'recurly'],
      cancelAtProviderWhenExhausted: false,
      suspensionGraceMs: 0,
      reattemptDelayMs: 60_000,
      pausedMeansNoAccess: true,
      chargebackReaction: 'suspend',
      providerRetryMarginMs: day,
      providerRetryWaitMs: 3 * day,
      maxSignalsPerRun: 2000,
    });
  });

  it('reads durations as Temporal does, and the rest', () => {
    const config = loadConfig({
      BILLFLOW_DUNNING_SCHEDULE: '300ms, 2s,1500',
      BILLFLOW_PROVIDER_MANAGED_DUNNING: 'recurly,stripe',
      BILLFLOW_CANCEL_WHEN_DUNNING_EXHAUSTED: 'true',
      BILLFLOW_SUSPENSION_GRACE: '2 days',
      BILLFLOW_REATTEMPT_DELAY: '90s',
      BILLFLOW_PAUSED_MEANS_NO_ACCESS: 'false',
      BILLFLOW_CHARGEBACK_REACTION: 'record',
      BILLFLOW_PROVIDER_RETRY_MARGIN: '6h',
      BILLFLOW_PROVIDER_RETRY_WAIT: '2 days',
      BILLFLOW_MAX_SIGNALS_PER_RUN: '50',
    });
    expect(config.workflows).toEqual({
      dunningScheduleMs: [300, 2000, 1500],
      providerManagedDunning: ['recurly', 'stripe'],
      cancelAtProviderWhenExhausted: true,
      suspensionGraceMs: 2 * day,
      reattemptDelayMs: 90_000,
      pausedMeansNoAccess: false,
      chargebackReaction: 'record',
      providerRetryMarginMs: 6 * 3_600_000,
      providerRetryWaitMs: 2 * day,
      maxSignalsPerRun: 50,
    });
  });

  it.each([
    ['BILLFLOW_DUNNING_SCHEDULE', 'soon'],
    ['BILLFLOW_DUNNING_SCHEDULE', ','],
    ['BILLFLOW_PROVIDER_MANAGED_DUNNING', 'paypal'],
    ['BILLFLOW_CANCEL_WHEN_DUNNING_EXHAUSTED', 'perhaps'],
    ['BILLFLOW_SUSPENSION_GRACE', '-1d'],
    ['BILLFLOW_MAX_SIGNALS_PER_RUN', '20000'],
  ])('stops on %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
