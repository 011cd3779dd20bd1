import type { History } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { committedHistories } from './support/histories';
import { workflowsPath } from './support/harness';

/*
 * Histories recorded from real runs (test/histories/*.json) replayed against today's workflow
 * code: a change that would break a workflow already running in production — a command added,
 * removed or reordered without `patched()` — fails here. Re-record after an intended, patched
 * change with BILLFLOW_RECORD_HISTORIES=1 (see test/workflows/support/histories.ts).
 */
describe('replay of recorded histories', () => {
  it('replays every committed history without nondeterminism', async () => {
    const histories = await committedHistories();
    // Covers every workflow billflow ships, so none can change unnoticed. The win-back example's
    // history moved with it: examples/starter replays it in its own test.
    const types = histories.map(({ history }) => workflowType(history));
    expect(new Set(types)).toEqual(new Set(['subscriptionWorkflow', 'paymentResolverWorkflow', 'accountWorkflow', 'mandateWorkflow']));

    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath, replayName: 'billflow-replay' }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

function workflowType(history: History): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}
