import { z } from 'zod';
import type { LoggedEvent, ProviderEventLog } from '../provider';
import { goCardlessCaller, type GoCardlessOptions } from './api';

/** GoCardless's largest page of `GET /events`. */
const pageSize = 500;

// Only what paging needs is read; each event is handed on whole, as its webhook carries it.
const eventsPage = z.object({
  events: z.array(z.looseObject({ id: z.string().min(1), created_at: z.string().min(1) })),
  meta: z.object({ cursors: z.object({ after: z.string().nullable() }) }),
});

/**
 * GoCardless's `GET /events`, for catch-up: newest first, paged back in time with the `after`
 * cursor, so every page since the cursor is read before any is handed on, oldest first. An event
 * here is the object a webhook batch carries in `events`, so each becomes a batch of one for the
 * webhook parser, with the same id and kind.
 */
export function goCardlessEventLog(options: GoCardlessOptions): ProviderEventLog {
  const call = goCardlessCaller(options);
  return {
    async since(since: Date): Promise<LoggedEvent[]> {
      const newestFirst: z.infer<typeof eventsPage>['events'] = [];
      let after: string | null = null;
      do {
        const query: URLSearchParams = new URLSearchParams({ 'created_at[gte]': since.toISOString(), limit: String(pageSize), ...(after ? { after } : {}) });
        const page: z.infer<typeof eventsPage> = await call('GET', `/events?${query.toString()}`, eventsPage);
        newestFirst.push(...page.events);
        after = page.events.length > 0 ? page.meta.cursors.after : null;
      } while (after);
      return newestFirst.reverse().map((event) => ({ id: event.id, createdAtMs: Date.parse(event.created_at), body: JSON.stringify({ events: [event] }) }));
    },
  };
}
