import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalConnectionOptions } from '../../src/temporal/connection';
import { startWorker } from '../../src/temporal/worker';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { eventually } from '../support/eventually';
import { goCardlessBatch, postGoCardless, startBillflow, type Billflow } from '../workflows/support/e2e';
import { activitiesFor } from '../workflows/support/worker-activities';
import { uniqueId } from '../workflows/support/harness';

/*
 * A run hands over what it has not applied yet to the next one (continue-as-new). Temporal refuses
 * a hand-over whose payloads pass 2 MiB, and the run would retry it for ever; so when signals pile
 * up — here while no worker runs — a run applies events until what is left fits.
 */
describe('continue-as-new with more queued than one hand-over holds', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({ BILLFLOW_MAX_SIGNALS_PER_RUN: '5' });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  it('applies every event, none twice, with no failed workflow task, after 16 large events came while no worker ran', async () => {
    await billflow.worker.shutdown();
    const mandate = billflow.sandbox.seedMandate({ customerId: uniqueId('CU'), status: 'active' });
    const subscription = billflow.sandbox.state.gocardless.seedSubscription({ mandateId: mandate.id }).id;
    // Each event is large (its description twice: in the event's details and in the provider's copy):
    // 16 of them, 4 MB, are twice what one hand-over may carry.
    const description = 'd'.repeat(125_000);
    const months = Array.from({ length: 16 }, (_, index) => `${2030 + Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}-01`);
    for (let delivery = 0; delivery < 4; delivery += 1) {
      const batch = goCardlessBatch(
        months.slice(delivery * 4, delivery * 4 + 4).map((day) => ({ resource_type: 'subscriptions', action: 'payment_created', links: { subscription }, created_at: `${day}T08:00:00.000Z`, details: { description } })),
      );
      expect((await postGoCardless(billflow.receiver, batch.body)).status).toBe(200);
    }

    billflow.worker = await startWorker(billflow.config, activitiesFor(billflow.config, billflow.store), pino({ level: 'silent' }));
    const handle = billflow.client.workflow.getHandle(`gocardless:subscription:${subscription}`);
    const state = await eventually(async () => {
      const current = await handle.query(subscriptionStateQuery);
      expect(current.usagePeriods).toHaveLength(16);
      return current;
    }, 60_000);
    expect(state.usagePeriods).toEqual(months);
    expect(state.run).toBeGreaterThanOrEqual(2);
    // Every run of the chain, from the first: no workflow task failed (a hand-over too large fails its task on every attempt).
    // Read through a connection that takes the histories' size (over gRPC's default 4 MB).
    const reader = new Client({ connection: await Connection.connect({ ...temporalConnectionOptions(billflow.config.temporal), channelArgs: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 } }) });
    const failedTasks: number[] = [];
    try {
      for await (const execution of reader.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
        const history = await reader.workflow.getHandle(handle.workflowId, execution.runId).fetchHistory();
        failedTasks.push(history.events?.filter((event) => event.workflowTaskFailedEventAttributes).length ?? 0);
      }
    } finally {
      await reader.connection.close();
    }
    expect(failedTasks.length).toBeGreaterThanOrEqual(1);
    expect(failedTasks.every((count) => count === 0)).toBe(true);
    const resets = (await billflow.store.get('gocardless', mandate.customerId))?.history.filter((change) => change.action === 'reset_usage');
    expect(resets).toHaveLength(16);
  });
});
