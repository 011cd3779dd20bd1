import type { Router } from '@koa/router';
import { readJsonBody } from './json-body';

/** An event the sandbox was told happened, as the provider's API lists it (and its webhook carries it). */
export interface ListedEvent<Event> {
  id: string;
  createdAtMs: number;
  event: Event;
}

/** Which way a page goes from its cursor: back in time (`after`, `starting_after`) or forward (`before`, `ending_before`). */
export type PageDirection = 'older' | 'newer';

/**
 * The events of one provider's sandbox, listed newest first as Stripe's and GoCardless's APIs list
 * them, and paged from an event id in either direction. Each provider's half keeps its own parameter
 * names, limits and refusals.
 */
export class EventList<Event> {
  private readonly events: ListedEvent<Event>[] = [];

  constructor(private readonly describe: (event: Event) => { id: string; createdAtMs: number }) {}

  /** Records an event (the same id again replaces it, as the provider keeps one event per id). */
  record(event: Event): ListedEvent<Event> {
    const listed = { ...this.describe(event), event };
    const at = this.events.findIndex((kept) => kept.id === listed.id);
    if (at >= 0) this.events.splice(at, 1);
    this.events.push(listed);
    // Newest first; the same instant by order of arrival, as ids sort in the providers' lists.
    this.events.sort((a, b) => b.createdAtMs - a.createdAtMs);
    return listed;
  }

  has(id: string): boolean {
    return this.events.some((event) => event.id === id);
  }

  clear(): void {
    this.events.length = 0;
  }

  get all(): readonly ListedEvent<Event>[] {
    return this.events;
  }

  /**
   * At most `limit` of the events `keep` selects, newest first, starting next to `cursor` in
   * `direction`; `hasMore` tells whether more lie beyond the page that way.
   */
  page(options: { keep(event: ListedEvent<Event>): boolean; limit: number; cursor?: string; direction?: PageDirection }): { data: ListedEvent<Event>[]; hasMore: boolean } {
    // The cursor places the page in the whole list, whatever the filters keep of it, as the APIs do.
    const at = options.cursor === undefined ? -1 : this.events.findIndex((event) => event.id === options.cursor);
    if (options.cursor !== undefined && options.direction === 'newer') {
      const newer = this.events.slice(0, Math.max(at, 0)).filter(options.keep);
      return { data: newer.slice(-options.limit), hasMore: newer.length > options.limit };
    }
    const older = this.events.slice(at + 1).filter(options.keep);
    return { data: older.slice(0, options.limit), hasMore: older.length > options.limit };
  }

  /** `POST /_sandbox/<provider>/events`: the body is an event that happened, as the API would list it (201, echoed). */
  addControlRoute(router: Router, parse: (body: unknown) => Event): void {
    router.post('/events', async (ctx) => {
      const event = parse(await readJsonBody(ctx));
      this.record(event);
      ctx.status = 201;
      ctx.body = event;
    });
    router.get('/events', (ctx) => {
      ctx.body = this.events.map(({ event }) => event);
    });
  }
}
