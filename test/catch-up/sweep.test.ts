import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { sweepProviderEvents, type CatchUpCursor } from '../../src/catch-up/sweep';
import type { BillingEvent } from '../../src/core/events';
import type { LoggedEvent } from '../../src/providers/provider';

/*
 * How a sweep hands its events on, against a stand-in of the two Temporal calls it makes (the
 * inbox query and signal-with-start), each taking a while: many at once, but the events of one
 * workflow one at a time and in the list's order; a failure stops it and leaves the cursor.
 */

interface Signalled {
  workflowId: string;
  eventId: string;
}

function temporal(options: { callMs: number; failOn?: string }) {
  const signalled: Signalled[] = [];
  const inFlight = new Map<string, number>();
  let now = 0;
  let most = 0;
  let overlapped = false;
  const call = async <T>(workflowId: string, work: () => T): Promise<T> => {
    now += 1;
    most = Math.max(most, now);
    inFlight.set(workflowId, (inFlight.get(workflowId) ?? 0) + 1);
    if ((inFlight.get(workflowId) ?? 0) > 1) overlapped = true;
    try {
      await new Promise((resolve) => setTimeout(resolve, options.callMs));
      return work();
    } finally {
      now -= 1;
      inFlight.set(workflowId, (inFlight.get(workflowId) ?? 1) - 1);
    }
  };
  const client = {
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
    workflow: {
      getHandle: (workflowId: string) => ({ query: () => call(workflowId, () => false) }),
      signalWithStart: (_type: string, { workflowId, signalArgs }: { workflowId: string; signalArgs: [BillingEvent] }) =>
        call(workflowId, () => {
          if (signalArgs[0].id === options.failOn) throw new Error('Temporal is unavailable');
          signalled.push({ workflowId, eventId: signalArgs[0].id });
        }),
    },
  } as unknown as Client;
  return { client, signalled, stats: () => ({ most, overlapped }) };
}

const start: CatchUpCursor = { since: '2026-12-01T10:00:00.000Z', seen: [] };

/** `count` events over `workflows` workflows, interleaved, one second apart. */
function listed(count: number, workflows: number): LoggedEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `EV${String(index).padStart(3, '0')}`,
    createdAtMs: Date.parse(start.since) + index * 1000,
    body: JSON.stringify({ id: `EV${String(index).padStart(3, '0')}`, workflow: `wf-${index % workflows}` }),
  }));
}

function sweep(client: Client, events: LoggedEvent[], concurrency?: number) {
  return sweepProviderEvents(
    {
      client,
      provider: 'gocardless',
      eventLog: { since: async () => events },
      parse: ({ rawBody }) => {
        const { id, workflow } = JSON.parse(rawBody.toString()) as { id: string; workflow: string };
        return [{ provider: 'gocardless', id, type: 'mandates.cancelled', kind: 'mandate.cancelled', occurredAt: start.since, references: { mandate: workflow }, facts: {}, details: {}, payload: {} }];
      },
      taskQueue: 'sweep-test',
      route: (event) => [{ workflowId: event.references.mandate ?? '', workflowType: 'mandateWorkflow', args: [] }],
      deadlineMs: 5000,
      ...(concurrency === undefined ? {} : { concurrency }),
    },
    start,
  );
}

describe('a catch-up sweep', () => {
  it('hands events on many at once, the events of one workflow one at a time and in the list\'s order', async () => {
    const events = listed(64, 8);
    const { client, signalled, stats } = temporal({ callMs: 20 });
    const began = Date.now();
    const { counts, cursor } = await sweep(client, events);
    const tookMs = Date.now() - began;

    expect(counts.recovered).toBe(64);
    expect(signalled).toHaveLength(64);
    for (let workflow = 0; workflow < 8; workflow += 1) {
      const order = signalled.filter(({ workflowId }) => workflowId === `wf-${workflow}`).map(({ eventId }) => eventId);
      expect(order).toEqual(events.filter((_, index) => index % 8 === workflow).map(({ id }) => id));
    }
    const { most, overlapped } = stats();
    expect(overlapped).toBe(false);
    // Eight workflows: at most eight in flight, and more than one.
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);
    // One at a time, 64 events of two calls of 20 ms each take 2.5 s; eight at a time a fraction of that.
    expect(tookMs).toBeLessThan(1500);
    expect(cursor.seen.length).toBeGreaterThan(0);
  });

  it('holds no more than its bound in flight', async () => {
    const { client, stats } = temporal({ callMs: 10 });
    await sweep(client, listed(100, 100), 5);
    expect(stats().most).toBe(5);
  });

  it('one at a time when told so', async () => {
    const { client, signalled, stats } = temporal({ callMs: 2 });
    const events = listed(20, 20);
    await sweep(client, events, 1);
    expect(stats().most).toBe(1);
    expect(signalled.map(({ eventId }) => eventId)).toEqual(events.map(({ id }) => id));
  });

  it('fails when a hand-on fails, handing on nothing queued after it, and gives no cursor to move', async () => {
    const events = listed(40, 4);
    const { client, signalled } = temporal({ callMs: 10, failOn: 'EV010' });
    await expect(sweep(client, events, 4)).rejects.toThrow();
    // Nothing of the failed event's workflow after it, and the later ones of the others not started.
    const failedWorkflow = signalled.filter(({ workflowId }) => workflowId === 'wf-2').map(({ eventId }) => eventId);
    expect(failedWorkflow).toEqual(['EV002', 'EV006']);
    expect(signalled.length).toBeLessThan(20);
  });
});
