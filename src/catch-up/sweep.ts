import { QueryNotRegisteredError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import pLimit from 'p-limit';
import { billingEventSeenQuery } from '../../workflows/definitions';
import type { BillingEvent, ProviderName } from '../core/events';
import type { LoggedEvent, ProviderEventLog } from '../providers/provider';
import { MalformedPayloadError, type WebhookRequest } from '../providers/types';
import type { WorkflowRoute } from '../core/routes';
import { deliverEvents } from '../temporal/deliver';

/**
 * Where a provider's catch-up stands: every event created before `since` has been handed on, and of
 * those created since, the ones in `seen`. Kept in the catch-up workflow, so it survives crashes and
 * deploys.
 */
export interface CatchUpCursor {
  /** ISO-8601 time. */
  since: string;
  seen: string[];
}

/**
 * What became of a listed event: `recovered` (no workflow had it: its webhook never came),
 * `duplicate` (its workflow had it from the webhook), `ignored` (no workflow takes it), `unusable`
 * (the provider's parser refused it), `reconciled` (a state read back where the provider has no event
 * list, Recurly's, handed to a workflow that lacked it under its id: new to the workflow, or held
 * already from the webhook of the same change, which has another id, and then a no-op there).
 */
export const catchUpOutcomes = ['recovered', 'duplicate', 'ignored', 'unusable', 'reconciled'] as const;
export type CatchUpOutcome = (typeof catchUpOutcomes)[number];
export type CatchUpCounts = Record<CatchUpOutcome, number>;

/**
 * How far behind the newest listed event the cursor stays: an event can appear in a provider's list
 * a little after the time it carries, and one listed late must still be read. The ids in that margin
 * are kept so that none is handed on twice.
 */
export const cursorMarginMs = 2 * 60_000;

export interface SweepOptions {
  client: Client;
  provider: ProviderName;
  eventLog: ProviderEventLog;
  /** The provider's webhook parser: the same ids and kinds as the webhook. */
  parse(request: WebhookRequest): BillingEvent[];
  taskQueue: string;
  /** The workflows an event goes to, billflow's own first: `routeEvents`, as the receiver routes. */
  route(event: BillingEvent): WorkflowRoute[];
  /** Per Temporal call. */
  deadlineMs: number;
  /** Told of every listed event not taken before, with its outcome. */
  onEvent?(outcome: CatchUpOutcome, event: HandedEvent, detail?: string): void;
  /** Called between events, for a long sweep to heartbeat. */
  onProgress?(): void;
  /** Events handed on at once (`handOnConcurrency` unless told). */
  concurrency?: number;
}

/**
 * Events a sweep hands on at once: each is a query and maybe a signal-with-start, a round trip to
 * Temporal each, so one at a time a sweep of thousands takes minutes; the bound keeps a long
 * catch-up from flooding Temporal beside the webhooks.
 */
export const handOnConcurrency = 16;

/**
 * One sweep: the provider's events since the cursor, oldest first, each through the provider's
 * webhook parser, routing and signal-with-start as if its webhook had come. An event whose workflow
 * already has it (the webhook came) is not signalled again; every workflow drops duplicates by
 * event id anyway, so a race with a webhook arriving meanwhile applies nothing twice.
 *
 * Up to `concurrency` events are handed on at once, but the events of one workflow one at a time
 * and in the list's order (each waits for the one before it at every workflow it goes to), so a
 * workflow gets them as the provider ordered them. The cursor moves only when every event has been
 * handed on: a sweep that fails hands on no more and leaves it where it was, and its retry reads
 * the same events again (the ones already handed on are then duplicates).
 */
export async function sweepProviderEvents(options: SweepOptions, cursor: CatchUpCursor): Promise<{ cursor: CatchUpCursor; counts: CatchUpCounts }> {
  const listed = await options.eventLog.since(new Date(cursor.since));
  const taken = new Set(cursor.seen);
  const counts: CatchUpCounts = { recovered: 0, duplicate: 0, ignored: 0, unusable: 0, reconciled: 0 };
  const report = (outcome: CatchUpOutcome, event: HandedEvent, detail?: string) => {
    counts[outcome] += 1;
    options.onEvent?.(outcome, event, detail);
  };
  const limit = pLimit(options.concurrency ?? handOnConcurrency);
  /** Each workflow's last hand-on, settled: the next event for that workflow waits for it. */
  const tails = new Map<string, Promise<unknown>>();
  let failed = false;
  const handing: Promise<void>[] = [];
  for (const logged of listed) {
    if (taken.has(logged.id)) continue;
    const parsed = parseLogged(options, logged);
    if (!Array.isArray(parsed)) {
      report('unusable', { id: logged.id, type: 'unknown' }, parsed.unusable);
      continue;
    }
    for (const event of parsed) {
      const routes = options.route(event);
      if (routes.length === 0) {
        report('ignored', event);
        continue;
      }
      const workflowIds = [...new Set(routes.map((route) => route.workflowId))];
      const before = workflowIds.map((workflowId) => tails.get(workflowId));
      const handed = Promise.all(before).then(() =>
        limit(async () => {
          // After a failure nothing more is handed on: the sweep's retry starts from the same cursor.
          if (failed) return;
          const [outcome, detail] = await handOn(options, event, routes, logged.fromState === true).catch((error: unknown) => {
            failed = true;
            throw error;
          });
          report(outcome, event, detail);
          options.onProgress?.();
        }),
      );
      const settled = handed.catch(() => undefined);
      for (const workflowId of workflowIds) tails.set(workflowId, settled);
      handing.push(handed);
    }
  }
  const outcomes = await Promise.allSettled(handing);
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return { cursor: nextCursor(cursor, listed), counts };
}

type HandedEvent = Pick<BillingEvent, 'id' | 'type'> & { kind?: BillingEvent['kind'] };

/** The events a listed one is, as its webhook's parser reads it, or why it cannot be read. */
function parseLogged(options: SweepOptions, logged: LoggedEvent): BillingEvent[] | { unusable: string } {
  try {
    return options.parse({ rawBody: Buffer.from(logged.body), headers: { 'content-type': 'application/json', ...logged.headers }, query: {}, ip: '127.0.0.1' });
  } catch (error) {
    if (!(error instanceof MalformedPayloadError)) throw error;
    return { unusable: error.message };
  }
}

/** One event to its workflows, unless its own (the first route's) workflow has it already. */
async function handOn(options: SweepOptions, event: BillingEvent, routes: WorkflowRoute[], fromState: boolean): Promise<[CatchUpOutcome, string?]> {
  const own = routes[0] as WorkflowRoute;
  if (await workflowHas(options.client, own.workflowId, event.id)) return ['duplicate'];
  await deliverEvents(options.client, routes.map((route) => ({ event, route })), { taskQueue: options.taskQueue, deadlineMs: options.deadlineMs });
  return [fromState ? 'reconciled' : 'recovered', own.workflowId];
}

/**
 * Whether the workflow's inbox took the event; false when no such workflow ever ran, or when it
 * cannot say (a workflow without billflow's inbox): then the event is signalled, and its workflow
 * drops it if it had it.
 */
async function workflowHas(client: Client, workflowId: string, eventId: string): Promise<boolean> {
  try {
    return await client.workflow.getHandle(workflowId).query(billingEventSeenQuery, eventId);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError || error instanceof QueryNotRegisteredError) return false;
    throw error;
  }
}

/** The cursor after a sweep of `listed`: `cursorMarginMs` behind the newest event, never back. */
export function nextCursor(cursor: CatchUpCursor, listed: readonly LoggedEvent[]): CatchUpCursor {
  const previous = Date.parse(cursor.since);
  const newest = Math.max(previous, ...listed.map((event) => event.createdAtMs));
  const since = Math.max(previous, newest - cursorMarginMs);
  const createdAt = new Map(listed.map((event) => [event.id, event.createdAtMs]));
  const seen = [...new Set([...cursor.seen, ...createdAt.keys()])].filter((id) => {
    const at = createdAt.get(id);
    return at === undefined ? since === previous : at >= since;
  });
  return { since: new Date(since).toISOString(), seen };
}
