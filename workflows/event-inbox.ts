import { context, trace, type Context } from '@opentelemetry/api';
import type { Duration } from '@temporalio/common';
import { CancellationScope, condition, isCancellation, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { BillingEvent } from '../src/core/events';
import { billingEventSeenQuery, billingEventSignal } from './definitions';

/**
 * Signals a run takes before it continues as new: far below Temporal's 10,000-signal cap, and
 * small enough to keep each run's history (and so every replay) short.
 */
export const maxSignalsPerRun = 2000;

/** Event ids remembered across runs. Providers redeliver for days, not for thousands of events. */
export const rememberedEventIds = 5000;

/**
 * Bytes of queued events a hand-over carries at most (their JSON, as the payload converter encodes
 * it). The SDK refuses a continue-as-new whose payloads pass 2 MiB, and the run would then retry
 * its hand-over for ever; with the event ids and the workflow's own state this leaves room below
 * that. A run holding more (signals piled up while no worker ran, or a burst to one workflow)
 * applies events until the rest takes half of it, then hands over.
 */
export const maxCarriedBytes = 1_500_000;

/**
 * While it applies a queue too large to carry, a run waits 1 ms after every this many events, so the
 * backlog is applied over several workflow tasks: one task applying thousands of events at once
 * outruns the SDK's deadlock detector (2 s without yielding), and a worker thread cut off in the
 * middle of that took its whole process down.
 */
export const backlogEventsPerTask = 200;

/** The patch under which a run holding more than `maxCarriedBytes` of queued events applies them before it hands over. */
export const carryFitsPatch = 'inbox-carry-fits-payload-limit';

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
  /** The encoded size of each queued event, in `pending`'s order, and their sum. */
  private readonly pendingSizes: number[];
  private pendingBytes: number;
  /** Set once this run held more than `maxCarriedBytes` queued and the patch applies. */
  private carryBounded = false;
  /**
   * Applying a queue too large to carry, down to half of `maxCarriedBytes`: the signals that come
   * during the hand-over (which Temporal then refuses once, handing the task over again with them)
   * still fit, instead of tipping the queue over the bound and starting another round of draining.
   */
  private drainingBacklog = false;
  /** Events taken while the queue was too large to carry: every `backlogEventsPerTask` of them, `pace` yields. */
  private takenFromBacklog = 0;
  private readonly maxSignalsPerRun: number;
  private signalsThisRun = 0;
  /** The timer of the due time `nextBy`/`waitBy` last waited for, kept for the next wait with the same one. */
  private dueTimer?: { dueAt: number; fired: Promise<void>; scope: CancellationScope };
  /** The trace context each queued event's signal came in, for the events that came traced (see `inTraceOf`). */
  private readonly traces = new Map<string, Context>();
  /** The trace of the event `take` handed out last. */
  private taken?: { eventId: string; trace: Context };
  duplicatesDropped = 0;

  constructor(carry?: InboxCarry, options: InboxOptions = {}) {
    this.recentEventIds = [...(carry?.recentEventIds ?? [])];
    this.seen = new Set(this.recentEventIds);
    this.pending = [...(carry?.pending ?? [])];
    this.pendingSizes = this.pending.map(encodedSize);
    this.pendingBytes = this.pendingSizes.reduce((sum, size) => sum + size, 0);
    this.maxSignalsPerRun = options.maxSignalsPerRun ?? maxSignalsPerRun;
  }

  /** Installs the signal handler (and the query catch-up asks); call once, first thing in the workflow. */
  listen(): void {
    setHandler(billingEventSignal, (event) => {
      // Inside the signal's span when the sender traces (workflows/tracing.ts); nothing to keep otherwise.
      if (this.receive(event) && trace.getActiveSpan()) this.traces.set(event.id, context.active());
    });
    // A query adds nothing to the history: recorded histories replay as before.
    setHandler(billingEventSeenQuery, (id) => this.seen.has(id));
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
    this.queue(event);
    return true;
  }

  private queue(event: BillingEvent): void {
    const size = encodedSize(event);
    this.pending.push(event);
    this.pendingSizes.push(size);
    this.pendingBytes += size;
    // Decided in the signal handler, where the event arrives, and recorded: histories from before
    // the bound replay as they ran.
    if (!this.carryBounded && this.pendingBytes > maxCarriedBytes) this.carryBounded = patched(carryFitsPatch);
    if (this.carryBounded && this.pendingBytes > maxCarriedBytes) this.drainingBacklog = true;
  }

  /** Takes `eventId` as never seen: its next delivery (a replay of a refused event) is queued again. */
  forget(eventId: string): void {
    if (!this.seen.delete(eventId)) return;
    const at = this.recentEventIds.indexOf(eventId);
    if (at >= 0) this.recentEventIds.splice(at, 1);
  }

  /**
   * Runs `work`, what the workflow does about `event`, in the trace of the webhook that delivered
   * it: the activities it calls become spans of that trace, under the signal's span, rather than of
   * whichever delivery started the workflow months ago. Without tracing (or for an event that came
   * untraced) it just runs `work`. Only the headers of the activities' commands change, never the
   * commands: histories replay either way.
   */
  inTraceOf<T>(event: BillingEvent, work: () => Promise<T>): Promise<T> {
    if (this.taken?.eventId !== event.id) return work();
    return context.with(this.taken.trace, work);
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  take(): BillingEvent | undefined {
    if (this.drainingBacklog) this.takenFromBacklog += 1;
    const event = this.pending.shift();
    this.pendingBytes -= this.pendingSizes.shift() ?? 0;
    if (this.pendingBytes <= maxCarriedBytes / 2) this.drainingBacklog = false;
    const traced = event && this.traces.get(event.id);
    this.taken = traced ? { eventId: event.id, trace: traced } : undefined;
    if (traced) this.traces.delete(event.id);
    return event;
  }

  /**
   * The next event, waiting for one if none is queued. Resolves `undefined` when `timeout` passes
   * first or when the run should continue as new, so a loop can act on its own timers and hand
   * over in time. A timeout of zero or less does not wait.
   */
  async next(timeout?: Duration): Promise<BillingEvent | undefined> {
    await this.pace();
    if (!this.hasPending() && !this.shouldContinueAsNew()) {
      const ready = () => this.hasPending() || this.shouldContinueAsNew();
      if (timeout === undefined) await condition(ready);
      else if (typeof timeout !== 'number' || timeout > 0) await condition(ready, timeout);
    }
    return this.shouldContinueAsNew() ? undefined : this.take();
  }

  /** `next`, waiting at most until `dueAt` (ms since the epoch) on a timer kept across waits for the same due time (see `waitBy`). */
  async nextBy(dueAt?: number): Promise<BillingEvent | undefined> {
    await this.waitBy(dueAt);
    return this.shouldContinueAsNew() ? undefined : this.take();
  }

  /**
   * Waits for an event (or the hand-over to a fresh run), at most until `dueAt`. One timer per due
   * time: an event that comes first leaves the timer running for the next wait with the same due
   * time, where `condition` with a timeout would cancel it and start another — and every timer
   * started is an action Temporal Cloud bills, one per event that arrives while a retry or a
   * grace period waits.
   */
  async waitBy(dueAt?: number): Promise<void> {
    await this.pace();
    if (this.dueTimer && this.dueTimer.dueAt !== dueAt) {
      this.dueTimer.scope.cancel();
      this.dueTimer = undefined;
    }
    if (this.hasPending() || this.shouldContinueAsNew() || (dueAt !== undefined && dueAt <= Date.now())) return;
    const timer = dueAt === undefined ? undefined : this.timerUntil(dueAt);
    const waiting = new CancellationScope();
    const arrived = waiting.run(() => condition(() => this.hasPending() || this.shouldContinueAsNew())).catch(ignoreCancellation);
    await (timer ? Promise.race([arrived, timer]) : arrived);
    // A condition holds no command: cancelling the one the timer beat only drops it.
    waiting.cancel();
  }

  private timerUntil(dueAt: number): Promise<void> {
    if (!this.dueTimer) {
      const scope = new CancellationScope();
      const fired = scope.run(() => sleep(dueAt - Date.now())).catch(ignoreCancellation);
      this.dueTimer = { dueAt, fired, scope };
    }
    return this.dueTimer.fired;
  }

  /**
   * True when this run should hand over to a fresh one (Temporal's suggestion or our own cap), and
   * what it would carry fits one hand-over (`maxCarriedBytes`).
   */
  shouldContinueAsNew(): boolean {
    const due = workflowInfo().continueAsNewSuggested || this.signalsThisRun >= this.maxSignalsPerRun;
    return due && !this.drainingBacklog;
  }

  /**
   * Call before taking the next event in a loop that takes queued events without waiting (`next`
   * and `waitBy` call it themselves): while the run applies a queue too large to carry, it ends the
   * workflow task every `backlogEventsPerTask` events (a 1 ms timer). Otherwise it does nothing.
   */
  async pace(): Promise<void> {
    if (this.drainingBacklog && this.takenFromBacklog >= backlogEventsPerTask) {
      this.takenFromBacklog = 0;
      await sleep(1);
    }
  }

  /** Signals received by this run, redeliveries included. */
  get signalsReceived(): number {
    return this.signalsThisRun;
  }

  carry(): InboxCarry {
    return { recentEventIds: [...this.recentEventIds], pending: [...this.pending] };
  }
}

/** Bytes of the event's JSON in UTF-8, as the default payload converter encodes it. */
function encodedSize(event: BillingEvent): number {
  return new TextEncoder().encode(JSON.stringify(event)).byteLength;
}

function ignoreCancellation(error: unknown): void {
  if (!isCancellation(error)) throw error;
}
