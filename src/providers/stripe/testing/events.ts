import { z } from 'zod';
import { DAY_MS } from '../../../testing/sandbox/common';
import type { EventList, ListedEvent } from '../../../testing/sandbox/event-list';

/** A Stripe event as `GET /v1/events` lists it and its webhook carries it; the rest of its fields kept as given. */
export const stripeEventSchema = z.looseObject({
  id: z.string().regex(/^evt_\w+$/, 'a Stripe event id starts with evt_'),
  object: z.literal('event').default('event'),
  type: z.string().min(1),
  created: z.number().int().positive(),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

/** Stripe lists events of the last 30 days only. */
const retentionMs = 30 * DAY_MS;
const maxTypes = 20;
const rangeOperators = ['gt', 'gte', 'lt', 'lte'] as const;
const known = /^(created(\[(gt|gte|lt|lte)\])?|delivery_success|ending_before|limit|starting_after|type|types\[\d*\]|expand\[\d*\])$/;

interface StripeListError {
  message: string;
  param?: string;
  code?: string;
}

/**
 * `GET /v1/events` as Stripe answers it: newest first, `limit` 1–100 (10 by default), paged with
 * `starting_after` (older) or `ending_before` (newer), filtered by `created` (a time or a range:
 * `created[gte]`…) and by `type` (`*` wildcards) or `types[]` (up to 20, not with `type`).
 * Unknown parameters and malformed values are refused as Stripe refuses them.
 */
export function listStripeEvents(events: EventList<StripeEvent>, querystring: string, now = Date.now()): { object: 'list'; url: string; has_more: boolean; data: StripeEvent[] } | { error: StripeListError } {
  const params = new URLSearchParams(querystring);
  for (const name of new Set(params.keys())) {
    if (!known.test(name)) return { error: { message: `Received unknown parameter: ${name}`, param: name } };
  }
  const limitText = params.get('limit');
  const limit = limitText === null ? 10 : Number(limitText);
  if (!Number.isInteger(limit)) return { error: invalidInteger('limit', limitText ?? '') };
  if (limit < 1 || limit > 100) return { error: { message: `This value must be greater than or equal to 1 and less than or equal to 100.`, param: 'limit' } };

  const created: ((seconds: number) => boolean)[] = [];
  for (const operator of ['', ...rangeOperators.map((name) => `[${name}]`)]) {
    const text = params.get(`created${operator}`);
    if (text === null) continue;
    if (!/^\d+$/.test(text)) return { error: invalidInteger(`created${operator}`, text) };
    const bound = Number(text);
    created.push(
      { '': (at: number) => at === bound, '[gt]': (at: number) => at > bound, '[gte]': (at: number) => at >= bound, '[lt]': (at: number) => at < bound, '[lte]': (at: number) => at <= bound }[operator] ??
        (() => true),
    );
  }

  const type = params.get('type');
  const types = [...params.entries()].filter(([name]) => name.startsWith('types[')).map(([, value]) => value);
  if (type !== null && types.length > 0) return { error: { message: 'You may only specify one of these parameters: type, types.', param: 'types' } };
  if (types.length > maxTypes) return { error: { message: `You may pass at most ${maxTypes} types.`, param: 'types' } };
  const typeMatches = type === null ? (name: string) => types.length === 0 || types.includes(name) : wildcard(type);

  const startingAfter = params.get('starting_after');
  const endingBefore = params.get('ending_before');
  if (startingAfter !== null && endingBefore !== null) {
    return { error: { message: 'You may only specify one of these parameters: ending_before, starting_after.', param: 'starting_after' } };
  }
  const cursor = startingAfter ?? endingBefore ?? undefined;
  const param = startingAfter !== null ? 'starting_after' : 'ending_before';
  const keep = ({ event, createdAtMs }: ListedEvent<StripeEvent>) =>
    createdAtMs >= now - retentionMs && created.every((test) => test(event.created)) && typeMatches(event.type);
  if (cursor !== undefined && !events.all.some((listed) => listed.id === cursor && listed.createdAtMs >= now - retentionMs)) {
    return { error: { message: `No such event: '${cursor}'`, param, code: 'resource_missing' } };
  }
  const page = events.page({ keep, limit, cursor, direction: endingBefore !== null ? 'newer' : 'older' });
  return { object: 'list', url: '/v1/events', has_more: page.hasMore, data: page.data.map(({ event }) => event) };
}

function invalidInteger(param: string, value: string): StripeListError {
  return { message: `Invalid integer: ${value}`, param };
}

/** Stripe's `type` filter: `*` stands for any part of the name (`invoice.*`). */
function wildcard(pattern: string): (name: string) => boolean {
  const expression = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => expression.test(name);
}
