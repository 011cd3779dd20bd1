import { z } from 'zod';
import type { EventList, ListedEvent } from '../../../testing/sandbox/event-list';
import { invalidParameter, readListQuery, type GoCardlessListRefusal } from './list-query';

/** A GoCardless event as `GET /events` lists it and a webhook batch carries it; other fields kept as given. */
export const goCardlessEventSchema = z.looseObject({
  id: z.string().regex(/^EV[0-9A-Z]+$/, 'a GoCardless event id starts with EV, then upper-case letters and digits'),
  created_at: z.iso.datetime({ offset: true }),
  resource_type: z.string().min(1),
  action: z.string().min(1),
  links: z.record(z.string(), z.string()).default({}),
});
export type GoCardlessEvent = z.infer<typeof goCardlessEventSchema>;

const rangeOperators = { gt: (at: number, bound: number) => at > bound, gte: (at: number, bound: number) => at >= bound, lt: (at: number, bound: number) => at < bound, lte: (at: number, bound: number) => at <= bound };
/** The filters of `GET /events` that name a resource: `?mandate=MD123` keeps the events linking it. */
const linkFilters = ['mandate', 'payment', 'subscription', 'customer', 'refund', 'payout', 'creditor'] as const;
const known = new RegExp(`^(after|before|limit|include|action|resource_type|parent_event|created_at\\[(gt|gte|lt|lte)\\]|${linkFilters.join('|')})$`);

/**
 * `GET /events` as GoCardless answers it: newest first, `limit` 1–500 (50 by default), paged with
 * `after` (older) or `before` (newer), whose next values come in `meta.cursors`; filtered by
 * `created_at[gt|gte|lt|lte]` (ISO times), `action`, `resource_type` and the linked resource. An
 * unknown parameter or cursor is `invalid_api_usage`, a malformed value `validation_failed`.
 */
export function listGoCardlessEvents(events: EventList<GoCardlessEvent>, querystring: string): { events: GoCardlessEvent[]; meta: { cursors: { before: string | null; after: string | null }; limit: number } } | GoCardlessListRefusal {
  const query = readListQuery(querystring, known);
  if ('reason' in query) return query;
  const { params, limit } = query;

  const tests: ((event: GoCardlessEvent, at: number) => boolean)[] = [];
  for (const [operator, compare] of Object.entries(rangeOperators)) {
    const text = params.get(`created_at[${operator}]`);
    if (text === null) continue;
    const bound = z.iso.datetime({ offset: true }).safeParse(text);
    if (!bound.success) return invalidParameter(`created_at[${operator}]`, 'is not a valid ISO 8601 time');
    tests.push((_, at) => compare(at, Date.parse(bound.data)));
  }
  for (const name of ['action', 'resource_type'] as const) {
    const wanted = params.get(name);
    if (wanted !== null) tests.push((event) => event[name] === wanted);
  }
  for (const link of linkFilters) {
    const wanted = params.get(link);
    if (wanted !== null) tests.push((event) => event.links[link] === wanted);
  }

  const after = params.get('after');
  const before = params.get('before');
  if (after !== null && before !== null) return { status: 400, type: 'invalid_api_usage', reason: 'invalid_cursors', message: 'You can only specify one of before and after' };
  const cursor = after ?? before ?? undefined;
  if (cursor !== undefined && !events.has(cursor)) return { status: 400, type: 'invalid_api_usage', reason: 'invalid_cursors', message: `The cursor ${cursor} does not name an event` };
  const keep = ({ event, createdAtMs }: ListedEvent<GoCardlessEvent>) => tests.every((test) => test(event, createdAtMs));
  const page = events.page({ keep, limit, cursor, direction: before !== null ? 'newer' : 'older' });
  const data = page.data.map(({ event }) => event);
  // `after` names the page's oldest event while older ones remain; `before` its newest, once paged.
  const olderRemain = before !== null ? data.length > 0 && events.page({ keep, limit: 1, cursor: data.at(-1)?.id, direction: 'older' }).data.length > 0 : page.hasMore;
  const newerRemain = cursor !== undefined && data.length > 0 && events.page({ keep, limit: 1, cursor: data[0]?.id, direction: 'newer' }).data.length > 0;
  return {
    events: data,
    meta: { cursors: { before: newerRemain ? (data[0]?.id ?? null) : null, after: olderRemain ? (data.at(-1)?.id ?? null) : null }, limit },
  };
}
