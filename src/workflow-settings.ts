import { msToNumber } from '@temporalio/common/lib/time';
import { z } from 'zod';
import {
  defaultProviderRetryMarginMs,
  defaultProviderRetryWaitMs,
  defaultReattemptDelayMs,
  defaultSubscriptionPolicy,
  type SubscriptionPolicy,
} from '../workflows/subscription/policy';
import { maxSignalsPerRun } from '../workflows/event-inbox';
import type { ProviderName } from './core/events';
import { providerNames, providersRunningOwnDunning } from './providers/registry';
import { setting, type SettingsOf } from './settings';

/** A Temporal-style duration (`3 days`, `36h`, `90s`, `1500` ms) as milliseconds. */
export const duration = z.string().transform((value, ctx) => {
  try {
    const ms = msToNumber(/^\d+$/.test(value.trim()) ? Number(value) : (value.trim() as Parameters<typeof msToNumber>[0]));
    if (!Number.isFinite(ms) || ms < 0) throw new Error('negative');
    return ms;
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (e.g. "3 days", "12h", "90s")` });
    return z.NEVER;
  }
});

const commaList = (value: string) => value.split(',').map((part) => part.trim()).filter(Boolean);

/**
 * How billflow's entity workflows run, from the environment. Routing hands these to a workflow
 * as its start arguments: a running workflow keeps the settings it started with (carried through
 * continue-as-new), new ones take the current settings.
 */
export const workflowSettings = {
  /** Delays before each retry of a failed payment (ms). */
  dunningScheduleMs: setting(
    'BILLFLOW_DUNNING_SCHEDULE',
    z.string().default('3 days,5 days,7 days').transform(commaList).pipe(z.array(duration).min(1, 'needs at least one delay')),
  ),
  /**
   * Providers whose own dunning billflow leaves alone; by default those whose definition says they
   * run their own (CCBill, Recurly). Stripe, GoCardless and BillForward say so in each failure.
   */
  providerManagedDunning: setting(
    'BILLFLOW_PROVIDER_MANAGED_DUNNING',
    z.string().default(providersRunningOwnDunning.join(',')).transform(commaList).pipe(z.array(z.enum(providerNames as [ProviderName, ...ProviderName[]]))),
  ),
  cancelAtProviderWhenExhausted: setting('BILLFLOW_CANCEL_WHEN_DUNNING_EXHAUSTED', z.stringbool().default(false)),
  /**
   * Time (ms) between the decision to suspend (dunning exhausted, a mandate confirmed
   * cancelled/failed/expired) and the suspension; a payment or the mandate's return within it
   * means no suspension at all.
   */
  suspensionGraceMs: setting('BILLFLOW_SUSPENSION_GRACE', z.string().default('0').pipe(duration)),
  /**
   * Wait (ms) before a payment retry is attempted again under a new idempotency key, after the
   * provider replayed the server error its key first got (Stripe); doubled each time, at most 1 h.
   */
  reattemptDelayMs: setting('BILLFLOW_REATTEMPT_DELAY', z.string().default('1 minute').pipe(duration)),
  /** What a confirmed chargeback does: `suspend` the account (reason `chargeback`; a reversal reinstates it), or only `record` it. */
  chargebackReaction: setting('BILLFLOW_CHARGEBACK_REACTION', z.enum(['suspend', 'record']).default('suspend')),
  /** Whether a paused subscription takes its account's access away until it resumes (the account is `paused` either way). */
  pausedMeansNoAccess: setting('BILLFLOW_PAUSED_MEANS_NO_ACCESS', z.stringbool().default(true)),
  /**
   * Time (ms) past a provider's promised retry (`nextRetryAt`) after which billflow, having heard
   * no outcome, asks the provider how the payment stands and acts on its answer.
   */
  providerRetryMarginMs: setting('BILLFLOW_PROVIDER_RETRY_MARGIN', z.string().default('1 day').pipe(duration)),
  /** Time (ms) billflow waits for the outcome of a provider's own retry that names no time, before asking (plus the margin). */
  providerRetryWaitMs: setting('BILLFLOW_PROVIDER_RETRY_WAIT', z.string().default('3 days').pipe(duration)),
  /** Signals a workflow run takes before continuing as new. */
  maxSignalsPerRun: setting('BILLFLOW_MAX_SIGNALS_PER_RUN', z.coerce.number().int().min(1).max(9000).default(maxSignalsPerRun)),
};

export type WorkflowSettings = SettingsOf<typeof workflowSettings>;

export const defaultWorkflowSettings: WorkflowSettings = {
  ...defaultSubscriptionPolicy,
  providerManagedDunning: providersRunningOwnDunning,
  reattemptDelayMs: defaultReattemptDelayMs,
  pausedMeansNoAccess: true,
  chargebackReaction: 'suspend',
  providerRetryMarginMs: defaultProviderRetryMarginMs,
  providerRetryWaitMs: defaultProviderRetryWaitMs,
  maxSignalsPerRun,
};

/** The subscription workflow's policy for one provider. */
export function subscriptionPolicyFor(provider: ProviderName, settings: WorkflowSettings): SubscriptionPolicy {
  return {
    dunningScheduleMs: [...settings.dunningScheduleMs],
    providerManagedDunning: settings.providerManagedDunning.includes(provider),
    cancelAtProviderWhenExhausted: settings.cancelAtProviderWhenExhausted,
    suspensionGraceMs: settings.suspensionGraceMs,
    reattemptDelayMs: settings.reattemptDelayMs,
    pausedMeansNoAccess: settings.pausedMeansNoAccess,
    chargebackReaction: settings.chargebackReaction,
    providerRetryMarginMs: settings.providerRetryMarginMs,
    providerRetryWaitMs: settings.providerRetryWaitMs,
    maxSignalsPerRun: settings.maxSignalsPerRun,
  };
}
