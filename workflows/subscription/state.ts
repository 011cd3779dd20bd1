import type { BillingEvent, ProviderName } from '../../src/core/events';
import { AccessState } from './access-state';
import { ChargebackState } from './chargeback-state';
import { DunningState } from './dunning-state';
import { PauseState } from './pause-state';
import type { SubscriptionPolicy } from './policy';
import { RenewalState } from './renewal-state';
import type { DunningCase, SubscriptionSnapshot, SubscriptionStatus } from './snapshot';

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
  /** A provider promised to retry and no outcome came: ask it how the payment stands. */
  | { kind: 'check_provider'; at: number; dunning: DunningCase }
  | { kind: 'end_access'; at: number };

/**
 * The subscription's business state, apart from the workflow's handler wiring: one snapshot,
 * kept by a part per process (dunning, renewal, access) and the bookkeeping they share. Pure: no
 * activity calls, no workflow APIs; times come in as arguments.
 */
export class SubscriptionState {
  private readonly state: SubscriptionSnapshot;
  readonly dunning: DunningState;
  readonly renewal: RenewalState;
  readonly access: AccessState;
  readonly pause: PauseState;
  readonly chargebacks: ChargebackState;

  constructor(
    initial: SubscriptionSnapshot,
    readonly policy: SubscriptionPolicy,
  ) {
    this.state = clone(initial);
    this.dunning = new DunningState(this.state, policy);
    this.renewal = new RenewalState(this.state);
    this.access = new AccessState(this.state);
    this.pause = new PauseState(this.state);
    this.chargebacks = new ChargebackState(this.state);
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

  learnCustomer(customerId: string | undefined): void {
    if (customerId && !this.state.customerId) this.state.customerId = customerId;
  }

  /** Access is over (expired, or a cancellation reached its period end): nothing is retried or suspended any more. */
  endAccess(event?: BillingEvent): void {
    this.access.endedNow(event);
    this.dunning.closeOpenCases();
  }

  /** The earliest timer-driven step, if any. */
  nextDue(): DueWork | undefined {
    const due: DueWork[] = [];
    for (const open of this.state.dunning) {
      if (open.dueAt === undefined) continue;
      if (open.stage === 'retry_scheduled') due.push({ kind: 'retry', at: open.dueAt, dunning: open });
      if (open.stage === 'suspension_scheduled') due.push({ kind: 'suspend', at: open.dueAt, dunning: open });
      if (open.stage === 'provider_retrying') due.push({ kind: 'check_provider', at: open.dueAt, dunning: open });
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
    if (this.state.suspendedForNonPayment || this.chargebacks.suspendedForChargeback) return 'suspended';
    if (this.state.paused) return 'paused';
    if (this.state.accessEndsAt !== undefined) return 'cancelling';
    if (this.state.dunning.some((open) => open.stage !== 'exhausted')) return 'past_due';
    return 'active';
  }

  /** The state as plain JSON, counting `duplicatesDropped` more redeliveries. */
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
      if (due.kind === 'check_provider') return { action: `ask ${this.state.provider} how ${due.dunning.key} stands: no outcome of its own retry yet`, at };
      return { action: 'end access: the cancelled subscription reaches its period end', at };
    }
    const waiting = this.state.dunning.find((open) => open.stage === 'awaiting_outcome' || open.stage === 'provider_retrying');
    if (waiting?.stage === 'awaiting_outcome') return { action: `wait for the outcome of retry ${waiting.retriesMade} of ${steps} for ${waiting.key}` };
    if (waiting) return { action: `wait for ${this.state.provider}'s own retry of ${waiting.key}` };
    return undefined;
  }

  /** The snapshot the next run starts from. */
  handOver(duplicatesDropped: number): SubscriptionSnapshot {
    return { ...this.snapshot(duplicatesDropped), run: this.state.run + 1 };
  }
}

/** Snapshots are plain JSON (they travel through Temporal's payload converter): a JSON copy is exact. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
