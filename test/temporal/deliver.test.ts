import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { deliverEvents, TemporalUnavailableError, type Delivery } from '../../src/temporal/deliver';
import { billingEvent } from '../workflows/support/events';

/** A client whose signal-with-start takes `ms` each, recording what it signals and how many are in flight per workflow. */
function slowClient(ms: number) {
  const signalled: string[] = [];
  const inFlight = new Map<string, number>();
  let mostAtOnce = 0;
  const workflow = {
    signalWithStart: async (_type: string, options: { workflowId: string; signalArgs: [{ id: string }] }) => {
      const now = (inFlight.get(options.workflowId) ?? 0) + 1;
      inFlight.set(options.workflowId, now);
      mostAtOnce = Math.max(mostAtOnce, now);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight.set(options.workflowId, now - 1);
      signalled.push(options.signalArgs[0].id);
    },
  };
  const connection = { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() };
  return { client: { workflow, connection } as unknown as Client, signalled, mostAtOnce: () => mostAtOnce };
}

const deliveryTo = (workflowId: string, id: string): Delivery => ({
  event: billingEvent('payment.failed', { id }),
  route: { workflowType: 'subscriptionWorkflow', workflowId, args: [] },
});

describe('deliverEvents', () => {
  it('sends one signal at a time to a workflow across concurrent deliveries, in the order they came', async () => {
    const { client, signalled, mostAtOnce } = slowClient(20);
    const options = { taskQueue: 'billflow', deadlineMs: 5000 };
    await Promise.all([
      deliverEvents(client, [deliveryTo('w1', 'a1'), deliveryTo('w1', 'a2'), deliveryTo('w2', 'b1')], options),
      deliverEvents(client, [deliveryTo('w1', 'c1')], options),
      deliverEvents(client, [deliveryTo('w1', 'd1'), deliveryTo('w2', 'e1')], options),
    ]);
    expect(mostAtOnce()).toBe(1);
    expect(signalled.filter((id) => !id.startsWith('b') && !id.startsWith('e'))).toEqual(['a1', 'a2', 'c1', 'd1']);
    // Other workflows do not wait: w2's first signal went out beside w1's.
    expect(signalled.indexOf('b1')).toBeLessThan(signalled.indexOf('a2'));
  });

  it('answers 503 when its turn does not come before the deadline, and then sends nothing', async () => {
    const { client, signalled } = slowClient(200);
    const first = deliverEvents(client, [deliveryTo('w1', 'a1'), deliveryTo('w1', 'a2')], { taskQueue: 'billflow', deadlineMs: 5000 });
    const late = deliverEvents(client, [deliveryTo('w1', 'late')], { taskQueue: 'billflow', deadlineMs: 100 });
    await expect(late).rejects.toBeInstanceOf(TemporalUnavailableError);
    await first;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(signalled).toEqual(['a1', 'a2']);
  });
});
