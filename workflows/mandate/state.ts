import type { BillingEvent, ProviderName } from '../../src/core/events';

export type AccountAccess = 'active' | 'suspended';

export interface MandateSnapshot {
  provider: ProviderName;
  mandateId: string;
  customerId?: string;
  /** The mandate's status as the provider last confirmed it. */
  mandateStatus?: string;
  access: AccountAccess;
  /** occurredAt of the event that last changed `access`: older events never undo it. */
  accessChangedAt?: string;
  /** The reason this workflow gave the account store when it suspended the account: its reinstatement lifts that suspension only. */
  suspendedFor?: string;
  lastEvent?: { id: string; type: string; occurredAt: string; outcome: string };
  /** A confirmed cancellation waiting out the grace period: suspended at `dueAt` (epoch ms) unless the mandate comes back. */
  pendingSuspension?: { dueAt: number; event: BillingEvent };
  eventsApplied: number;
  duplicatesDropped: number;
}

/** The mandate's business state, kept apart from the workflow's handler wiring. */
export class MandateState {
  private state: MandateSnapshot;

  constructor(initial: MandateSnapshot) {
    this.state = { ...initial };
  }

  get customerId(): string | undefined {
    return this.state.customerId;
  }

  get access(): AccountAccess {
    return this.state.access;
  }

  /** Events that happened before the current state was set are too old to change it. */
  isStale(event: BillingEvent): boolean {
    const since = this.state.accessChangedAt;
    return since !== undefined && Date.parse(event.occurredAt) < Date.parse(since);
  }

  confirmed(mandateStatus: string, customerId: string): void {
    this.state.mandateStatus = mandateStatus;
    this.state.customerId = customerId;
  }

  get suspendedFor(): string | undefined {
    return this.state.suspendedFor;
  }

  /** `event` changed the account's access; a suspension's reason is the event's type, as given to the store. */
  changeAccess(access: AccountAccess, event: BillingEvent): void {
    this.state.access = access;
    this.state.accessChangedAt = event.occurredAt;
    if (access === 'suspended') this.state.suspendedFor = event.type;
    else delete this.state.suspendedFor;
  }

  get pendingSuspension(): MandateSnapshot['pendingSuspension'] {
    return this.state.pendingSuspension;
  }

  scheduleSuspension(dueAt: number, event: BillingEvent): void {
    this.state.pendingSuspension = { dueAt, event };
    this.state.accessChangedAt = event.occurredAt;
  }

  /** The pending suspension is dropped; `event` (a reinstatement) becomes the newest state. */
  cancelSuspension(event?: BillingEvent): void {
    delete this.state.pendingSuspension;
    if (event) this.state.accessChangedAt = event.occurredAt;
  }

  /** What became of an event applied earlier, once its grace period is over. */
  recordLaterOutcome(event: BillingEvent, outcome: string): void {
    this.state.lastEvent = { id: event.id, type: event.type, occurredAt: event.occurredAt, outcome };
  }

  recordOutcome(event: BillingEvent, outcome: string): void {
    this.state.eventsApplied += 1;
    this.state.lastEvent = { id: event.id, type: event.type, occurredAt: event.occurredAt, outcome };
  }

  snapshot(duplicatesDropped = this.state.duplicatesDropped): MandateSnapshot {
    return { ...this.state, duplicatesDropped };
  }
}
