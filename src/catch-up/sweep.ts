import { QueryNotRegisteredError, WorkflowNotFoundError, type Client } from '@temporalio/client';
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
  onEvent?(outcome: CatchUpOutcome, event: Pick<BillingEvent, 'id' | 'type'> & { kind?: BillingEvent['kind'] }, detail?: string): void;
  /** Called between events, for a long sweep to heartbeat. */
  onProgress?(): void;
}

/**
 * One sweep: the provider's events since the cursor, oldest first, each through the provider's
 * webhook parser, routing and signal-with-start as if its webhook had come. An event whose workflow
 * already has it (the webhook came) is not signalled again; every workflow drops duplicates by
 * event id anyway, so a race with a webhook arriving meanwhile applies nothing twice.
 */
export async function sweepProviderEvents(options: SweepOptions, cursor: CatchUpCursor): Promise<{ cursor: CatchUpCursor; counts: CatchUpCounts }> {
  const listed = await options.eventLog.since(new Date(cursor.since));
  const taken = new Set(cursor.seen);
  const counts: CatchUpCounts = { recovered: 0, duplicate: 0, ignored: 0, unusable: 0, reconciled: 0 };
  for (const logged of listed) {
    if (taken.has(logged.id)) continue;
    for (const [outcome, event, detail] of await handOn(options, logged)) {
      counts[outcome] += 1;
      options.onEvent?.(outcome, event, detail);
    }
    options.onProgress?.();
  }
  return { cursor: nextCursor(cursor, listed), counts };
}

type Handed = [CatchUpOutcome, Pick<BillingEvent, 'id' | 'type'> & { kind?: BillingEvent['kind'] }, string?];

async function handOn(options: SweepOptions, logged: LoggedEvent): Promise<Handed[]> {
  let events: BillingEvent[];
  try {
    events = options.parse({ rawBody: Buffer.from(logged.body), headers: { 'content-type': 'application/json', ...logged.headers }, query: {}, ip: '127.0.0.1' });
  } catch (error) {
    if (!(error instanceof MalformedPayloadError)) throw error;
    return [['unusable', { id: logged.id, type: 'unknown' }, error.message]];
  }
  const handed: Handed[] = [];
  for (const event of events) {
    const routes = options.route(event);
    const [own] = routes;
    if (!own) {
      handed.push(['ignored', event]);
      continue;
    }
    if (await workflowHas(options.client, own.workflowId, event.id)) {
      handed.push(['duplicate', event]);
      continue;
    }
    await deliverEvents(options.client, routes.map((route) => ({ event, route })), { taskQueue: options.taskQueue, deadlineMs: options.deadlineMs });
    handed.push([logged.fromState ? 'reconciled' : 'recovered', event, own.workflowId]);
  }
  return handed;
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
