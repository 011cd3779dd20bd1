import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { BillingEvent } from '../../src/core/events';
import { billingEventSignal } from '../../workflows/definitions';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** The state query of each billflow entity workflow; every one reports the events it applied. */
const stateQueries: Record<string, string> = {
  mandateWorkflow: 'mandateState',
  subscriptionWorkflow: 'subscriptionState',
  accountWorkflow: 'accountState',
  paymentResolverWorkflow: 'resolverState',
};

export interface EntityState {
  eventsApplied?: number;
  duplicatesDropped?: number;
  [field: string]: unknown;
}

export async function queryState(client: Client, workflowType: string, workflowId: string): Promise<EntityState> {
  const query = stateQueries[workflowType];
  if (!query) throw new Error(`no state query known for ${workflowType}`);
  return client.workflow.getHandle(workflowId).query<EntityState>(query);
}

/** What one workflow's histories (every run of its continue-as-new chain) say. */
export interface ChainFacts {
  runs: number;
  /** `billingEvent` signals per event id, across every run (redeliveries counted again). */
  signalsByEvent: Map<string, number>;
  signals: number;
  workflowTaskFailures: number;
  /** Why they failed (Temporal's cause numbers, e.g. 1 = an unhandled command: a signal came in while the task completed). */
  workflowTaskFailureCauses: Map<number, number>;
  /**
   * Activities the workflow ran, in order: its decisions to act, with the event each was for
   * (from a scheduled activity's input, or from a local activity's result: its marker keeps no input).
   */
  activities: { type: string; eventId?: string }[];
  /** When the chain's last workflow task completed (ms since epoch). */
  lastTaskCompletedAt?: number;
  status: string;
}

function eventTime(event: HistoryEvent): number | undefined {
  const time = event.eventTime;
  if (!time) return undefined;
  return Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}

/** The marker the SDK records for a completed local activity. */
const localActivityMarker = 'core_local_activity';

function eventIdOf(value: unknown): string | undefined {
  const eventId = (value as { eventId?: unknown } | undefined)?.eventId;
  return typeof eventId === 'string' ? eventId : undefined;
}

function decode(payloads: Payload[] | null | undefined, index = 0): unknown {
  const payload = payloads?.[index];
  return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
}

/**
 * Reads every run of the workflow, newest first, following `continuedExecutionRunId` back to the
 * first; bounded by `maxRuns`.
 */
export async function chainFacts(client: Client, workflowId: string, maxRuns = 200): Promise<ChainFacts> {
  const facts: ChainFacts = { runs: 0, signalsByEvent: new Map(), signals: 0, workflowTaskFailures: 0, workflowTaskFailureCauses: new Map(), activities: [], status: 'unknown' };
  const latest = await client.workflow.getHandle(workflowId).describe();
  facts.status = latest.status.name;
  let runId: string | undefined = latest.runId;
  const chunks: ChainFacts['activities'][] = [];
  while (runId && facts.runs < maxRuns) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    facts.runs += 1;
    runId = undefined;
    const activities: ChainFacts['activities'] = [];
    for (const event of (history.events ?? []) as HistoryEvent[]) {
      const started = event.workflowExecutionStartedEventAttributes;
      if (started?.continuedExecutionRunId) runId = started.continuedExecutionRunId;
      const signalled = event.workflowExecutionSignaledEventAttributes;
      if (signalled?.signalName === billingEventSignal.name) {
        const billingEvent = decode(signalled.input?.payloads) as BillingEvent | undefined;
        const id = billingEvent?.id ?? '(undecodable)';
        facts.signalsByEvent.set(id, (facts.signalsByEvent.get(id) ?? 0) + 1);
        facts.signals += 1;
      }
      const failed = event.workflowTaskFailedEventAttributes;
      if (failed) {
        facts.workflowTaskFailures += 1;
        const cause = Number(failed.cause ?? 0);
        facts.workflowTaskFailureCauses.set(cause, (facts.workflowTaskFailureCauses.get(cause) ?? 0) + 1);
      }
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) activities.push({ type: scheduled.activityType?.name ?? '', eventId: eventIdOf(decode(scheduled.input?.payloads)) });
      const marker = event.markerRecordedEventAttributes;
      if (marker?.markerName === localActivityMarker) {
        const data = decode(marker.details?.data?.payloads) as { activity_type?: string } | undefined;
        activities.push({ type: data?.activity_type ?? '', eventId: eventIdOf(decode(marker.details?.result?.payloads)) });
      }
      if (event.workflowTaskCompletedEventAttributes) {
        const at = eventTime(event);
        if (at !== undefined && (facts.lastTaskCompletedAt === undefined || at > facts.lastTaskCompletedAt)) facts.lastTaskCompletedAt = at;
      }
    }
    chunks.unshift(activities);
  }
  facts.activities = chunks.flat();
  return facts;
}

/** Runs `work` over `items` with at most `concurrency` at once; results in order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

/** Sum of the worker's completed task counts (workflow and activity), from the SDK's Prometheus metrics. */
export async function workerTaskCount(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (/^temporal_request_latency_count\{[^}]*operation="Respond(?:WorkflowTask|ActivityTask)(?:Completed|Failed)"/.test(line)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/**
 * Resolves once the worker has completed no task for `quietMs` (every signal applied, every
 * activity done), or when `timeLimitMs` passes; returns whether it went quiet.
 */
export async function workerQuiet(metricsUrl: string, quietMs: number, timeLimitMs: number): Promise<boolean> {
  const deadline = Date.now() + timeLimitMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const count = await workerTaskCount(metricsUrl).catch(() => last);
    if (count !== last) {
      last = count;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
