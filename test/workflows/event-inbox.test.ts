import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BillingEvent } from '../../src/core/events';
import { billingEventSignal } from '../../workflows/definitions';
import { backlogEventsPerTask, carryFitsPatch, EventInbox, maxCarriedBytes, maxSignalsPerRun, rememberedEventIds } from '../../workflows/event-inbox';
import { billingEvent } from './support/events';

/*
 * The inbox without Temporal: its dedupe, order, cap and carry are plain code; the three workflow
 * calls it makes (setHandler, condition, workflowInfo) are stood in for here, so these tests say
 * what it asks of them, not how Temporal answers (the workflow tests on a real server do that).
 */
const workflow = vi.hoisted(() => ({
  continueAsNewSuggested: false,
  /** What `patched` answers: true in a new execution, false replaying a history recorded before the patch. */
  patchApplies: true,
  patches: [] as string[],
  sleeps: [] as unknown[],
  handlers: new Map<string, (...args: unknown[]) => void>(),
  waits: [] as { ready: () => boolean; timeout?: unknown }[],
}));

vi.mock('@temporalio/workflow', async (original) => ({
  ...(await original<typeof import('@temporalio/workflow')>()),
  workflowInfo: () => ({ continueAsNewSuggested: workflow.continueAsNewSuggested }),
  sleep: async (duration: unknown) => {
    workflow.sleeps.push(duration);
  },
  patched: (id: string) => {
    workflow.patches.push(id);
    return workflow.patchApplies;
  },
  setHandler: (definition: { name: string }, handler: (...args: unknown[]) => void) => workflow.handlers.set(definition.name, handler),
  condition: async (ready: () => boolean, timeout?: unknown) => {
    workflow.waits.push({ ready, timeout });
    return ready();
  },
}));

beforeEach(() => {
  workflow.continueAsNewSuggested = false;
  workflow.patchApplies = true;
  workflow.patches.length = 0;
  workflow.sleeps.length = 0;
  workflow.handlers.clear();
  workflow.waits.length = 0;
});

const ids = (events: (BillingEvent | undefined)[]) => events.map((event) => event?.id);

describe('event inbox', () => {
  it('takes the billingEvent signal, drops redeliveries by id and keeps arrival order', () => {
    const inbox = new EventInbox();
    inbox.listen();
    const signal = workflow.handlers.get(billingEventSignal.name);
    const [first, second] = [billingEvent('payment.failed', { id: 'EV1' }), billingEvent('payment.succeeded', { id: 'EV2' })];
    signal?.(first);
    signal?.(second);
    signal?.(first);
    expect(inbox.duplicatesDropped).toBe(1);
    expect(inbox.signalsReceived).toBe(3);
    expect(inbox.hasPending()).toBe(true);
    expect(ids([inbox.take(), inbox.take(), inbox.take()])).toEqual(['EV1', 'EV2', undefined]);
    expect(inbox.receive(billingEvent('payment.failed', { id: 'EV2' }))).toBe(false);
  });

  it('forgets the oldest ids beyond the ones it remembers', () => {
    const inbox = new EventInbox();
    for (let n = 0; n <= rememberedEventIds; n += 1) inbox.receive(billingEvent('unknown', { id: `EV${n}` }));
    const carried = inbox.carry();
    expect(carried.recentEventIds).toHaveLength(rememberedEventIds);
    expect(carried.recentEventIds[0]).toBe('EV1');
    expect(inbox.receive(billingEvent('unknown', { id: 'EV0' }))).toBe(true);
    expect(inbox.receive(billingEvent('unknown', { id: 'EV2' }))).toBe(false);
  });

  it('takes a forgotten id as new again, in this run and the next (a refused event replayed)', () => {
    const inbox = new EventInbox();
    inbox.receive(billingEvent('payment.failed', { id: 'EV1' }));
    inbox.receive(billingEvent('payment.failed', { id: 'EV2' }));
    inbox.forget('EV1');
    inbox.forget('EV-never-seen');
    expect(inbox.carry().recentEventIds).toEqual(['EV2']);
    expect(new EventInbox(inbox.carry()).receive(billingEvent('payment.failed', { id: 'EV1' }))).toBe(true);
    expect(inbox.receive(billingEvent('payment.failed', { id: 'EV1' }))).toBe(true);
    expect(inbox.receive(billingEvent('payment.failed', { id: 'EV2' }))).toBe(false);
  });

  it('carries remembered ids and untaken events into the next run, as copies', () => {
    const inbox = new EventInbox();
    inbox.receive(billingEvent('unknown', { id: 'EV1' }));
    inbox.receive(billingEvent('unknown', { id: 'EV2' }));
    inbox.take();
    const carried = inbox.carry();
    expect(carried.recentEventIds).toEqual(['EV1', 'EV2']);
    expect(ids(carried.pending)).toEqual(['EV2']);

    const next = new EventInbox(carried);
    carried.pending.length = 0;
    expect(next.receive(billingEvent('unknown', { id: 'EV1' }))).toBe(false);
    expect(ids([next.take(), next.take()])).toEqual(['EV2', undefined]);
    expect(next.signalsReceived).toBe(1);
  });

  it('asks to continue as new after its cap of signals, redeliveries counted, or when Temporal suggests it', () => {
    const capped = new EventInbox(undefined, { maxSignalsPerRun: 2 });
    capped.receive(billingEvent('unknown', { id: 'EV1' }));
    expect(capped.shouldContinueAsNew()).toBe(false);
    capped.receive(billingEvent('unknown', { id: 'EV1' }));
    expect(capped.shouldContinueAsNew()).toBe(true);

    const suggested = new EventInbox();
    expect(suggested.shouldContinueAsNew()).toBe(false);
    workflow.continueAsNewSuggested = true;
    expect(suggested.shouldContinueAsNew()).toBe(true);
    expect(maxSignalsPerRun).toBe(2000);
  });

  it('next(): a queued event without waiting, a wait bounded by the timeout, nothing once it should hand over', async () => {
    const inbox = new EventInbox(undefined, { maxSignalsPerRun: 3 });
    inbox.receive(billingEvent('unknown', { id: 'EV1' }));
    expect((await inbox.next())?.id).toBe('EV1');
    expect(workflow.waits).toEqual([]);

    expect(await inbox.next('1 second')).toBeUndefined(); // timed out: the stand-in's condition gives up at once
    expect(workflow.waits.map((wait) => wait.timeout)).toEqual(['1 second']);
    expect(await inbox.next(0)).toBeUndefined(); // zero does not wait
    expect(workflow.waits).toHaveLength(1);

    inbox.receive(billingEvent('unknown', { id: 'EV2' }));
    inbox.receive(billingEvent('unknown', { id: 'EV3' }));
    expect(inbox.shouldContinueAsNew()).toBe(true);
    expect(await inbox.next()).toBeUndefined(); // left queued for the next run
    expect(ids(inbox.carry().pending)).toEqual(['EV2', 'EV3']);
  });

  it('hands over only what fits one continue-as-new: a run holding more queued applies events until the rest fits', () => {
    /** An event whose provider copy takes about a tenth of the bound, as a large provider payload does. */
    const large = (id: string) => ({ ...billingEvent('unknown', { id }), payload: { copy: 'x'.repeat(maxCarriedBytes / 10) } });
    const inbox = new EventInbox(undefined, { maxSignalsPerRun: 5 });
    for (let index = 1; index <= 14; index += 1) inbox.receive(large(`EV${index}`));
    expect(workflow.patches).toEqual([carryFitsPatch]); // asked once, when the queue first passed the bound
    expect(inbox.shouldContinueAsNew()).toBe(false); // due (14 signals > 5), but 14 tenths do not fit
    const applied: string[] = [];
    while (!inbox.shouldContinueAsNew()) applied.push(inbox.take()?.id as string);
    // Applied down to half the bound, so that the signals coming during the hand-over still fit.
    const carried = inbox.carry().pending;
    expect([...applied, ...ids(carried)]).toEqual(Array.from({ length: 14 }, (_, index) => `EV${index + 1}`));
    expect(ids(carried)).toEqual(['EV11', 'EV12', 'EV13', 'EV14']);
    expect(Buffer.byteLength(JSON.stringify(carried))).toBeLessThanOrEqual(maxCarriedBytes / 2);
    // Signals arriving during the hand-over do not start another round of draining while the queue still fits.
    inbox.receive(large('EV15'));
    expect(inbox.shouldContinueAsNew()).toBe(true);

    // The next run counts what it was handed: five more large events pass the bound again.
    const next = new EventInbox(inbox.carry(), { maxSignalsPerRun: 1 });
    for (let index = 16; index <= 20; index += 1) next.receive(large(`EV${index}`));
    expect(next.shouldContinueAsNew()).toBe(false);
  });

  it('replays a history recorded before the bound as it ran: without the patch it hands over when due, whatever it holds', () => {
    workflow.patchApplies = false;
    const inbox = new EventInbox(undefined, { maxSignalsPerRun: 5 });
    for (let index = 1; index <= 14; index += 1) inbox.receive({ ...billingEvent('unknown', { id: `EV${index}` }), payload: { copy: 'x'.repeat(maxCarriedBytes / 10) } });
    expect(inbox.shouldContinueAsNew()).toBe(true);
  });

  it('applies a backlog too large to carry over several workflow tasks: pace() waits 1 ms every few hundred events, and only then', async () => {
    const inbox = new EventInbox(undefined, { maxSignalsPerRun: 5 });
    const small = (index: number) => ({ ...billingEvent('unknown', { id: `EV${index}` }), payload: { copy: 'x'.repeat(1000) } });
    for (let index = 0; index < 3000; index += 1) inbox.receive(small(index));
    let taken = 0;
    while (!inbox.shouldContinueAsNew()) {
      await inbox.pace();
      if (inbox.take()) taken += 1;
    }
    expect(taken).toBeGreaterThan(1000);
    expect(workflow.sleeps).toHaveLength(Math.floor((taken - 1) / backlogEventsPerTask));
    expect(workflow.sleeps.every((duration) => duration === 1)).toBe(true);

    // A queue that fits never waits.
    workflow.sleeps.length = 0;
    const light = new EventInbox();
    for (let index = 0; index < 500; index += 1) light.receive(billingEvent('unknown', { id: `EL${index}` }));
    for (let index = 0; index < 500; index += 1) {
      await light.pace();
      light.take();
    }
    expect(workflow.sleeps).toEqual([]);
  });
});
