import type { Duration } from '@temporalio/common';
import { condition, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BillingEvent } from '../src/core/events';
import { billingEventSignal } from './definitions';

/**
 * Signals a run takes before it continues as new: far below Temporal's 10,000-signal cap, and
 * small enough to keep each run's history (and so every replay) short.
 */
export const maxSignalsPerRun = 2000;

/** Event ids remembered across runs. Providers redeliver for days, not for thousands of events. */
export const rememberedEventIds = 5000;

/** What an inbox hands to the next run when the workflow continues as new. */
export interface InboxCarry {
  recentEventIds: string[];
  pending: BillingEvent[];
}

export interface InboxOptions {
  /** Signals one run takes before `shouldContinueAsNew()` says so; `maxSignalsPerRun` when absent. */
  maxSignalsPerRun?: number;
}

/**
 * The entry point of billflow's events into an entity workflow: receives the `billingEvent`
 * signal, drops redeliveries by event id (for the workflow's whole life, carried through
 * continue-as-new), and queues the rest in arrival order for the workflow's main loop.
 */
export class EventInbox {
  private readonly recentEventIds: string[];
  private readonly seen: Set<string>;
  private readonly pending: BillingEvent[];
  private readonly maxSignalsPerRun: number;
  private signalsThisRun = 0;
  duplicatesDropped = 0;

  constructor(carry?: InboxCarry, options: InboxOptions = {}) {
    this.recentEventIds = [...(carry?.recentEventIds ?? [])];
    this.seen = new Set(this.recentEventIds);
    this.pending = [...(carry?.pending ?? [])];
    this.maxSignalsPerRun = options.maxSignalsPerRun ?? maxSignalsPerRun;
  }

  /** Installs the signal handler; call once, first thing in the workflow. */
  listen(): void {
    setHandler(billingEventSignal, (event) => {
      this.receive(event);
    });
  }

  receive(event: BillingEvent): boolean {
    this.signalsThisRun += 1;
    if (this.seen.has(event.id)) {
      this.duplicatesDropped += 1;
      return false;
    }
    this.seen.add(event.id);
    this.recentEventIds.push(event.id);
    if (this.recentEventIds.length > rememberedEventIds) {
      this.seen.delete(this.recentEventIds.shift() as string);
    }
    this.pending.push(event);
    return true;
  }

  /** Takes `eventId` as never seen: its next delivery (a replay of a refused event) is queued again. */
  forget(eventId: string): void {
    if (!this.seen.delete(eventId)) return;
    const at = this.recentEventIds.indexOf(eventId);
    if (at >= 0) this.recentEventIds.splice(at, 1);
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  take(): BillingEvent | undefined {
    return this.pending.shift();
  }

  /**
   * The next event, waiting for one if none is queued. Resolves `undefined` when `timeout` passes
   * first or when the run should continue as new, so a loop can act on its own timers and hand
   * over in time. A timeout of zero or less does not wait.
   */
  async next(timeout?: Duration): Promise<BillingEvent | undefined> {
    if (!this.hasPending() && !this.shouldContinueAsNew()) {
      const ready = () => this.hasPending() || this.shouldContinueAsNew();
      if (timeout === undefined) await condition(ready);
      else if (typeof timeout !== 'number' || timeout > 0) await condition(ready, timeout);
    }
    return this.shouldContinueAsNew() ? undefined : this.take();
  }

  /** True when this run should hand over to a fresh one (Temporal's suggestion or our own cap). */
  shouldContinueAsNew(): boolean {
    return workflowInfo().continueAsNewSuggested || this.signalsThisRun >= this.maxSignalsPerRun;
  }

  /** Signals received by this run, redeliveries included. */
  get signalsReceived(): number {
    return this.signalsThisRun;
  }

  carry(): InboxCarry {
    return { recentEventIds: [...this.recentEventIds], pending: [...this.pending] };
  }
}
