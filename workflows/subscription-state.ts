import type { BillingEvent, JsonValue, ProviderName } from '../src/core/events';

/** How a subscription workflow runs its processes; fixed when the workflow starts, carried across runs. */
export interface SubscriptionPolicy {
  /**
   * Delays before each retry of a failed payment, in milliseconds: the first counts from the
   * failure, each next one from the failure of the retry before it. Its length is the number of
   * retries before the account is suspended.
   */
  dunningScheduleMs: number[];
  /** The provider runs its own dunning (Recurly, Stripe set up so; CCBill always): billflow never retries. */
  providerManagedDunning: boolean;
  /** Cancel the subscription at the provider once the schedule is exhausted. */
  cancelAtProviderWhenExhausted: boolean;
  /** Time between the schedule running out and the account's suspension, in milliseconds. */
  suspensionGraceMs: number;
  /** Signals one run takes before continuing as new; the inbox's default when absent. */
  maxSignalsPerRun?: number;
}

const day = 24 * 60 * 60 * 1000;

export const defaultSubscriptionPolicy: SubscriptionPolicy = {
  dunningScheduleMs: [3 * day, 5 * day, 7 * day],
  providerManagedDunning: false,
  cancelAtProviderWhenExhausted: false,
  suspensionGraceMs: 0,
};

/**
 * Where one unpaid invoice (or payment, where the provider has no invoices) stands:
 * `retry_scheduled` → (retry) → `awaiting_outcome` → (failed again) → `retry_scheduled` … →
 * `suspension_scheduled` → `exhausted`; `provider_retrying` while the provider retries by itself.
 */
export type DunningStage = 'retry_scheduled' | 'awaiting_outcome' | 'provider_retrying' | 'suspension_scheduled' | 'exhausted';

export interface DunningCase {
  /** The invoice id, else the payment id: names the case in idempotency keys. */
  key: string;
  invoiceId?: string;
  paymentId?: string;
  stage: DunningStage;
  retriesMade: number;
  /** Epoch ms of the scheduled retry or suspension: absolute, so it survives continue-as-new. */
  dueAt?: number;
  firstFailedAt: string;
  lastFailedAt: string;
}

export type SubscriptionStatus = 'active' | 'past_due' | 'suspended' | 'cancelling' | 'ended';

export interface SubscriptionSnapshot {
  provider: ProviderName;
  subscriptionId: string;
  customerId?: string;
  status: SubscriptionStatus;
  dunning: DunningCase[];
  /** Invoices/payments known paid, with when: a late failure older than that is stale. */
  settled: { key: string; at: string }[];
  /** This workflow suspended the account because a dunning schedule ran out. */
  suspendedForNonPayment: boolean;
  /** Epoch ms at which access ends (a cancellation waiting for its period end). */
  accessEndsAt?: number;
  accessEnded: boolean;
  /** occurredAt of the cancellation/reactivation/expiry that set the lifecycle: older ones never undo it. */
  lifecycleChangedAt?: string;
  /** Billing periods whose usage was reset, newest last (bounded). */
  usagePeriods: string[];
  lastEvent?: { id: string; type: string; occurredAt: string; outcome: string };
  /** The last step taken on a timer (a retry, a suspension, an end of access). */
  lastAction?: { action: string; at: string };
  eventsApplied: number;
  duplicatesDropped: number;
  /** 1 for the first run, +1 at every continue-as-new. */
  run: number;
}

export interface NextAction {
  action: string;
  /** ISO time it is due; absent when it waits for an event rather than a timer. */
  at?: string;
}

/** What the `subscriptionState` query answers. */
export interface SubscriptionView extends SubscriptionSnapshot {
  dunningSteps: number;
  nextAction?: NextAction;
}

export type DueWork =
  | { kind: 'retry'; at: number; dunning: DunningCase }
  | { kind: 'suspend'; at: number; dunning: DunningCase }
  | { kind: 'end_access'; at: number };

const keptSettled = 100;
const keptPeriods = 24;

/** The subscription's business state, apart from the workflow's handler wiring. Pure: no activity calls. */
export class SubscriptionState {
  private readonly state: SubscriptionSnapshot;

  constructor(
    initial: SubscriptionSnapshot,
    readonly policy: SubscriptionPolicy,
  ) {
    this.state = clone(initial);
  }

  static fresh(provider: ProviderName, subscriptionId: string, policy: SubscriptionPolicy): SubscriptionState {
    return new SubscriptionState(
      {
        provider,
        subscriptionId,
        status: 'active',
        dunning: [],
        settled: [],
        suspendedForNonPayment: false,
        accessEnded: false,
        usagePeriods: [],
        eventsApplied: 0,
        duplicatesDropped: 0,
        run: 1,
      },
      policy,
    );
  }

  get provider(): ProviderName {
    return this.state.provider;
  }

  get subscriptionId(): string {
    return this.state.subscriptionId;
  }

  get customerId(): string | undefined {
    return this.state.customerId;
  }

  get accessEnded(): boolean {
    return this.state.accessEnded;
  }

  get accessEndsAt(): number | undefined {
    return this.state.accessEndsAt;
  }

  get suspendedForNonPayment(): boolean {
    return this.state.suspendedForNonPayment;
  }

  learnCustomer(customerId: string | undefined): void {
    if (customerId && !this.state.customerId) this.state.customerId = customerId;
  }

  // ── dunning ──────────────────────────────────────────────────────────────────────────────

  /** The open case an event's invoice or payment belongs to. */
  dunningFor(event: BillingEvent): DunningCase | undefined {
    const { invoice, payment } = event.references;
    return this.state.dunning.find(
      (open) => (invoice !== undefined && open.invoiceId === invoice) || (payment !== undefined && open.paymentId === payment),
    );
  }

  /** A failure that happened before its invoice was paid (or before a newer failure) changes nothing. */
  isStaleFailure(event: BillingEvent, open: DunningCase | undefined): boolean {
    const key = paymentKey(event);
    const paid = this.state.settled.find((entry) => entry.key === key);
    if (paid && !isAfter(event.occurredAt, paid.at)) return true;
    return open !== undefined && isBefore(event.occurredAt, open.lastFailedAt);
  }

  openDunning(event: BillingEvent): DunningCase {
    const key = paymentKey(event) as string;
    const opened: DunningCase = {
      key,
      ...(event.references.invoice ? { invoiceId: event.references.invoice } : {}),
      ...(event.references.payment ? { paymentId: event.references.payment } : {}),
      stage: 'awaiting_outcome',
      retriesMade: 0,
      firstFailedAt: event.occurredAt,
      lastFailedAt: event.occurredAt,
    };
    this.state.dunning.push(opened);
    return opened;
  }

  /** A failure of the payment (first or after a retry): schedules the next retry, or the suspension. */
  failed(open: DunningCase, event: BillingEvent | undefined, now: number): void {
    if (event) {
      open.lastFailedAt = laterOf(open.lastFailedAt, event.occurredAt);
      if (!open.paymentId && event.references.payment) open.paymentId = event.references.payment;
    }
    const delay = this.policy.dunningScheduleMs[open.retriesMade];
    if (delay === undefined) {
      open.stage = 'suspension_scheduled';
      open.dueAt = now + this.policy.suspensionGraceMs;
    } else {
      open.stage = 'retry_scheduled';
      open.dueAt = now + delay;
    }
  }

  providerRetrying(open: DunningCase, event: BillingEvent): void {
    open.lastFailedAt = laterOf(open.lastFailedAt, event.occurredAt);
    open.stage = 'provider_retrying';
    delete open.dueAt;
  }

  /** The provider gave up retrying by itself: nothing left but the suspension. */
  providerGaveUp(open: DunningCase, event: BillingEvent, now: number): void {
    open.lastFailedAt = laterOf(open.lastFailedAt, event.occurredAt);
    open.stage = 'suspension_scheduled';
    open.dueAt = now + this.policy.suspensionGraceMs;
  }

  retried(open: DunningCase): void {
    open.retriesMade += 1;
    open.stage = 'awaiting_outcome';
    delete open.dueAt;
  }

  exhausted(open: DunningCase): void {
    open.stage = 'exhausted';
    delete open.dueAt;
    this.state.suspendedForNonPayment = true;
  }

  /** The invoice (or payment) `key` was paid at `at`: its case closes. `reinstate` when the account may come back. */
  paid(payment: { key: string; at: string }): { closed?: DunningCase; reinstate: boolean } {
    const closed = this.state.dunning.find((open) => open.key === payment.key);
    if (closed) this.state.dunning = this.state.dunning.filter((open) => open !== closed);
    this.state.settled = this.state.settled.filter((entry) => entry.key !== payment.key);
    this.state.settled.push({ key: payment.key, at: payment.at });
    this.state.settled.splice(0, Math.max(0, this.state.settled.length - keptSettled));
    const stillExhausted = this.state.dunning.some((open) => open.stage === 'exhausted');
    const reinstate = closed?.stage === 'exhausted' && this.state.suspendedForNonPayment && !stillExhausted && !this.state.accessEnded;
    if (reinstate) this.state.suspendedForNonPayment = false;
    return { closed, reinstate };
  }

  // ── renewal ──────────────────────────────────────────────────────────────────────────────

  /** Why a renewal must not reset usage, or undefined when it should. */
  renewalRefusal(period: string): string | undefined {
    if (this.state.accessEnded) return 'access has ended';
    if (this.state.usagePeriods.includes(period)) return `usage already reset for period ${period}`;
    const current = this.state.usagePeriods.at(-1);
    if (current !== undefined && isBefore(period, current)) return `period ${period} is older than the current period ${current}`;
    return undefined;
  }

  usageReset(period: string): void {
    this.state.usagePeriods.push(period);
    this.state.usagePeriods.splice(0, Math.max(0, this.state.usagePeriods.length - keptPeriods));
  }

  // ── cancellation, reactivation, expiry ─────────────────────────────────────────────────────

  /** An event older than the last lifecycle change (cancel / reactivate / expire) cannot undo it. */
  isStaleLifecycle(event: BillingEvent): boolean {
    const since = this.state.lifecycleChangedAt;
    return since !== undefined && isBefore(event.occurredAt, since);
  }

  scheduleEndOfAccess(at: number, event: BillingEvent): void {
    this.state.accessEndsAt = at;
    this.state.lifecycleChangedAt = event.occurredAt;
  }

  reactivated(event: BillingEvent): void {
    delete this.state.accessEndsAt;
    this.state.lifecycleChangedAt = event.occurredAt;
  }

  cancelEndOfAccess(): void {
    delete this.state.accessEndsAt;
  }

  accessEndedNow(event?: BillingEvent): void {
    this.state.accessEnded = true;
    delete this.state.accessEndsAt;
    if (event) this.state.lifecycleChangedAt = laterOf(this.state.lifecycleChangedAt, event.occurredAt);
    // Nothing is retried or suspended for a subscription whose access is over.
    this.state.dunning = this.state.dunning.filter((open) => open.stage === 'exhausted');
  }

  // ── bookkeeping ──────────────────────────────────────────────────────────────────────────

  /** The earliest timer-driven step, if any. */
  nextDue(): DueWork | undefined {
    const due: DueWork[] = [];
    for (const open of this.state.dunning) {
      if (open.dueAt === undefined) continue;
      if (open.stage === 'retry_scheduled') due.push({ kind: 'retry', at: open.dueAt, dunning: open });
      if (open.stage === 'suspension_scheduled') due.push({ kind: 'suspend', at: open.dueAt, dunning: open });
    }
    if (this.state.accessEndsAt !== undefined) due.push({ kind: 'end_access', at: this.state.accessEndsAt });
    return due.sort((a, b) => a.at - b.at)[0];
  }

  recordOutcome(event: Pick<BillingEvent, 'id' | 'type' | 'occurredAt'>, outcome: string): void {
    this.state.eventsApplied += 1;
    this.state.lastEvent = { id: event.id, type: event.type, occurredAt: event.occurredAt, outcome };
  }

  recordAction(action: string, now: number): void {
    this.state.lastAction = { action, at: new Date(now).toISOString() };
  }

  status(): SubscriptionStatus {
    if (this.state.accessEnded) return 'ended';
    if (this.state.suspendedForNonPayment) return 'suspended';
    if (this.state.accessEndsAt !== undefined) return 'cancelling';
    if (this.state.dunning.some((open) => open.stage !== 'exhausted')) return 'past_due';
    return 'active';
  }

  /** The state to carry into the next run. */
  snapshot(duplicatesDropped = 0): SubscriptionSnapshot {
    return clone({ ...this.state, status: this.status(), duplicatesDropped: this.state.duplicatesDropped + duplicatesDropped });
  }

  view(duplicatesDropped = 0): SubscriptionView {
    return { ...this.snapshot(duplicatesDropped), dunningSteps: this.policy.dunningScheduleMs.length, nextAction: this.nextAction() };
  }

  nextAction(): NextAction | undefined {
    const due = this.nextDue();
    const steps = this.policy.dunningScheduleMs.length;
    if (due) {
      const at = new Date(due.at).toISOString();
      if (due.kind === 'retry') return { action: `retry payment ${due.dunning.key} (retry ${due.dunning.retriesMade + 1} of ${steps})`, at };
      if (due.kind === 'suspend') return { action: `suspend the account: dunning for ${due.dunning.key} exhausted`, at };
      return { action: 'end access: the cancelled subscription reaches its period end', at };
    }
    const waiting = this.state.dunning.find((open) => open.stage === 'awaiting_outcome' || open.stage === 'provider_retrying');
    if (waiting?.stage === 'awaiting_outcome') return { action: `wait for the outcome of retry ${waiting.retriesMade} of ${steps} for ${waiting.key}` };
    if (waiting) return { action: `wait for ${this.state.provider}'s own retry of ${waiting.key}` };
    return undefined;
  }

  /** Prepares the snapshot for the next run. */
  handOver(duplicatesDropped: number): SubscriptionSnapshot {
    return { ...this.snapshot(duplicatesDropped), run: this.state.run + 1 };
  }
}

/** The invoice a payment event concerns, else the payment itself. */
export function paymentKey(event: BillingEvent): string | undefined {
  return event.references.invoice ?? event.references.payment;
}

/**
 * True when the provider retries the failed payment itself, so billflow must only wait:
 * GoCardless `will_attempt_retry`, CCBill `nextRetryDate`, Stripe `next_payment_attempt`,
 * BillForward `nextExecutionAttempt`.
 */
export function providerWillRetry(event: BillingEvent): boolean {
  const { facts } = event;
  if (facts.will_attempt_retry === true) return true;
  const next = firstFact(facts, ['nextRetryDate', 'next_payment_attempt', 'nextExecutionAttempt']);
  return next !== undefined;
}

/** The billing period a renewal starts: from the event's facts, else the day it happened (UTC). */
export function billingPeriodOf(event: BillingEvent): string {
  const start = firstFact(event.facts, [
    'current_period_start', // Stripe
    'current_period_started_at', // Recurly
    'currentPeriodStart', // BillForward
    'renewalDate', // CCBill
    'period_start',
    'charge_date',
  ]);
  return (start !== undefined ? toIso(start) : undefined) ?? event.occurredAt.slice(0, 10);
}

/** When a cancelled subscription's paid period ends, if the event says so (epoch ms). */
export function periodEndOf(event: BillingEvent): number | undefined {
  const end = firstFact(event.facts, [
    'cancel_at', // Stripe, set with cancel_at_period_end
    'current_period_end', // Stripe
    'expires_at', // Recurly
    'current_period_ends_at', // Recurly
    'subscriptionEnd', // BillForward
    'currentPeriodEnd', // BillForward
    'nextRenewalDate', // CCBill: the renewal that will not happen
    'period_end',
  ]);
  const iso = end === undefined ? undefined : toIso(end);
  return iso === undefined ? undefined : Date.parse(iso);
}

/** Snapshots are plain JSON (they travel through Temporal's payload converter): a JSON copy is exact. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function firstFact(facts: Record<string, JsonValue>, names: string[]): string | number | undefined {
  for (const name of names) {
    const value = facts[name];
    if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))) return value;
  }
  return undefined;
}

/** ISO time from an ISO string, a provider's `YYYY-MM-DD hh:mm:ss`, or unix seconds/ms. */
function toIso(value: string | number): string | undefined {
  if (typeof value === 'number') return new Date(value < 1e12 ? value * 1000 : value).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const parsed = Date.parse(/^\d{4}-\d{2}-\d{2} \d/.test(value) ? `${value.replace(' ', 'T')}Z` : value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}

/** Compares two times (or dates); strings that are not times compare as text. */
function compare(a: string, b: string): number {
  const [x, y] = [Date.parse(a), Date.parse(b)];
  if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isBefore(a: string, b: string): boolean {
  return compare(a, b) < 0;
}

function isAfter(a: string, b: string): boolean {
  return compare(a, b) > 0;
}

function laterOf(a: string | undefined, b: string): string {
  return a === undefined || isBefore(a, b) ? b : a;
}
