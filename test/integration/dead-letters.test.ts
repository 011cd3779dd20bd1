import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLettersQuery, type DeadLetters } from '../../workflows/dead-letters';
import { eventually } from '../support/eventually';
import { goCardlessBatch, postGoCardless, startBillflow, type Billflow } from '../workflows/support/e2e';

/** The ids of the billing events signalled to a workflow, in history order. */
async function signalledEventIds(billflow: Billflow, workflowId: string): Promise<string[]> {
  const history = await billflow.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const data = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}

describe('one bad event in a GoCardless batch', () => {
  let billflow: Billflow;
  beforeAll(async () => {
    billflow = await startBillflow();
  });
  afterAll(async () => {
    await billflow?.close();
  });

  it('delivers the others, answers 2xx, and keeps the bad one with its reason where an operator sees it', async () => {
    const [mandateA, mandateB] = [`MD${Date.now()}A`, `MD${Date.now()}B`];
    const { body, ids } = goCardlessBatch([
      { resource_type: 'mandates', action: 'created', links: { mandate: mandateA } },
      { id: 'EVBROKEN0001', resource_type: 'mandates', action: 'cancelled', links: { mandate: mandateB } },
      { resource_type: 'mandates', action: 'created', links: { mandate: mandateB } },
    ]);
    // The middle event's time is not a time: GoCardless would never send it, a bug on either side might.
    const broken = body.replace(/("id":"EVBROKEN0001","created_at":)"[^"]+"/, '$142');
    expect(broken).not.toBe(body);

    const response = await postGoCardless(billflow.receiver, broken);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 2, unusable: 1 });
    expect(await signalledEventIds(billflow, `gocardless:mandate:${mandateA}`)).toEqual([ids[0]]);
    expect(await signalledEventIds(billflow, `gocardless:mandate:${mandateB}`)).toEqual([ids[2]]);

    const deadLetters = billflow.client.workflow.getHandle('gocardless:dead-letters:webhooks');
    const kept = await eventually(async () => {
      const state: DeadLetters = await deadLetters.query(deadLettersQuery);
      expect(state.latest.some((record) => record.id === 'EVBROKEN0001')).toBe(true);
      return state;
    });
    const record = kept.latest.find((entry) => entry.id === 'EVBROKEN0001');
    expect(record).toMatchObject({ provider: 'gocardless', index: 1, reason: expect.stringContaining('created_at') });
    expect(record?.deliveryId).toMatch(/^WB/);

    // The same delivery again (the provider retrying it): the record is kept once.
    expect((await postGoCardless(billflow.receiver, broken)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await deadLetters.query(deadLettersQuery);
    expect(again.latest.filter((entry) => entry.id === 'EVBROKEN0001')).toHaveLength(1);
    expect(again.total).toBe(kept.total);

    const metrics = await (await fetch(`${billflow.receiver.url}/metrics`)).text();
    expect(metrics).toMatch(/billflow_webhook_events_total\{provider="gocardless",kind="unknown",outcome="unusable"\} [1-9]/);
  });
});
