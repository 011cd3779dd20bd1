import type { Client } from '@temporalio/client';
import { ValueError } from '@temporalio/common';
import { billingEventSignal, billingProviderKey, entityWorkflowId } from '../../workflows/definitions';
import type { DeadLetterInput } from '../core/dead-letters';
import type { BillingEvent } from '../core/events';
import type { WorkflowRoute } from '../core/routes';

/** Temporal did not accept every signal in time: the provider must be told to retry (503). */
export class TemporalUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemporalUnavailableError';
  }
}

export interface Delivery {
  event: BillingEvent;
  route: WorkflowRoute;
}

export interface DeliveryOptions {
  taskQueue: string;
  deadlineMs: number;
  /** Told of each event sent without its provider copies because they could not be encoded. */
  onProviderCopyOmitted?: (event: BillingEvent, reason: string) => void;
}

/**
 * Signals every event to its workflow, starting the workflow if it does not run; resolves only
 * once Temporal has accepted them all. Different workflows are signalled concurrently; events for
 * the same workflow go one after another, in the order the provider sent them — and after the
 * signals other deliveries of this process are making to that workflow (`inTurn`).
 */
export async function deliverEvents(
  client: Client,
  deliveries: Delivery[],
  options: DeliveryOptions,
): Promise<void> {
  const byWorkflow = new Map<string, Delivery[]>();
  for (const delivery of deliveries) {
    const sameWorkflow = byWorkflow.get(delivery.route.workflowId);
    if (sameWorkflow) sameWorkflow.push(delivery);
    else byWorkflow.set(delivery.route.workflowId, [delivery]);
  }
  // Answered 503 once the deadline passes: what is still waiting for its turn is then not sent.
  let answered = false;
  try {
    await withTemporalDeadline(client, options.deadlineMs, () =>
      Promise.all(
        [...byWorkflow].map(([workflowId, sameWorkflow]) =>
          inTurn(client, workflowId, async () => {
            for (const delivery of sameWorkflow) {
              if (answered) return;
              await signalEncodable(client, delivery, options);
            }
          }),
        ),
      ),
    );
  } finally {
    answered = true;
  }
}

/** Per client, the last signalling queued for each workflow. */
const turns = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * Runs `signal` once the signalling queued before it for the same workflow is over: one signal in
 * flight per workflow from this process. On the Temporal server every signal takes the workflow's
 * lock for a database transaction; a burst of concurrent deliveries to one workflow kept that lock
 * so busy that the worker could not start the workflow's task (its `RecordWorkflowTaskStarted`
 * lost the race again and again) until the run was full. Waiting for its turn counts against the
 * delivery's deadline.
 */
function inTurn(client: Client, workflowId: string, signal: () => Promise<void>): Promise<void> {
  const queued = turns.get(client.connection) ?? new Map<string, Promise<void>>();
  turns.set(client.connection, queued);
  const mine = (queued.get(workflowId) ?? Promise.resolve()).then(signal);
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  queued.set(workflowId, settled);
  void settled.then(() => {
    if (queued.get(workflowId) === settled) queued.delete(workflowId);
  });
  return mine;
}

/**
 * Hands a dead letter to Temporal before the delivery is answered, for a receiver without a
 * database of its own: `deadLetterWorkflow` stores it through an activity. One workflow per
 * `key` (the body's hash): a provider retrying the delivery meanwhile joins the running one.
 */
export async function startDeadLetterWorkflow(client: Client, input: DeadLetterInput, key: string, options: Pick<DeliveryOptions, 'taskQueue' | 'deadlineMs'>): Promise<void> {
  await withTemporalDeadline(client, options.deadlineMs, () =>
    client.workflow.start('deadLetterWorkflow', {
      workflowId: entityWorkflowId(input.provider, 'dead-letter', key),
      taskQueue: options.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [{ key: billingProviderKey, value: input.provider }],
      staticSummary: `${input.provider} dead letter (${input.kind}): ${input.reason}`.slice(0, 200),
    }),
  );
}

/**
 * A verified event whose provider copies (`payload`, `details`) Temporal's payload converter cannot
 * encode — JSON nested deeper than `JSON.stringify` goes, say — is sent without them, with a note
 * saying why: its canonical part (kind, ids, time, facts) is what workflows decide on. Refusing it
 * would be worse: a 503 is retried by the provider for ever, a 400 drops the rest of its batch. The
 * converter fails before anything is sent, so the second call is the only one that reaches Temporal.
 */
async function signalEncodable(client: Client, delivery: Delivery, options: DeliveryOptions): Promise<void> {
  try {
    await signalWithStart(client, delivery, options.taskQueue);
  } catch (error) {
    if (!(error instanceof ValueError)) throw error;
    const reason = `could not be encoded for Temporal (${error.cause instanceof Error ? error.cause.message : error.message})`;
    const omitted = { omitted: `the provider's event ${reason}` };
    options.onProviderCopyOmitted?.(delivery.event, reason);
    await signalWithStart(client, { ...delivery, event: { ...delivery.event, payload: omitted, details: omitted } }, options.taskQueue);
  }
}

/** One event to its workflow, starting the workflow if needed: the single Temporal call behind a delivery. */
export async function signalWithStart(client: Client, { event, route }: Delivery, taskQueue: string): Promise<void> {
  await client.workflow.signalWithStart(route.workflowType, {
    workflowId: route.workflowId,
    taskQueue,
    args: route.args,
    signal: billingEventSignal,
    signalArgs: [event],
    // A running workflow gets the signal; a closed one is followed by a fresh run.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [{ key: billingProviderKey, value: event.provider }],
    // Shown as the execution's Summary in the Web UI (set once, when this call starts the workflow).
    staticSummary: `${route.workflowType} for ${route.workflowId.split(':').join(' ')}`,
  });
}

/**
 * Runs `fn`'s Temporal calls under one deadline and gives up when it passes. `withDeadline` alone
 * is not enough: the SDK's default gRPC retry interceptor re-issues a failed call after a backoff
 * of up to 5 s and only then notices the deadline, so against an unreachable server a call can
 * end seconds late. The race below answers on time; the abandoned call settles on its own.
 */
export async function withTemporalDeadline<T>(client: Client, deadlineMs: number, fn: () => Promise<T>): Promise<T> {
  const work = client.connection.withDeadline(Date.now() + deadlineMs, fn);
  track(client, work);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TemporalUnavailableError(`no answer from Temporal within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    if (error instanceof TemporalUnavailableError) throw error;
    throw new TemporalUnavailableError('Temporal call failed', { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once every call made through `withTemporalDeadline` on this client has settled, the
 * abandoned ones included (at most one retry backoff, 5 s, after their deadline). Await it before
 * closing the connection: the SDK's retry timer throws an uncaught "Channel has been shut down"
 * when it fires on a closed connection.
 */
export async function temporalCallsSettled(client: Client): Promise<void> {
  await Promise.allSettled([...(pending.get(client.connection) ?? [])]);
}

const pending = new WeakMap<object, Set<Promise<unknown>>>();

function track(client: Client, work: Promise<unknown>): void {
  const calls = pending.get(client.connection) ?? new Set();
  pending.set(client.connection, calls);
  calls.add(work);
  work.then(
    () => calls.delete(work),
    () => calls.delete(work),
  );
}
