import type { Router } from '@koa/router';
import type { z } from 'zod';
import { renewalSchema, type AttemptOutcome } from './common';
import { readJsonBody } from './json-body';

/**
 * The control routes for one kind of record a provider's sandbox keeps, added to its router under
 * `/_sandbox/<provider>`: GET `/<name>` lists the records (unless `list` is false); POST `/<name>` seeds one from the body
 * (201, the record); PATCH `/<name>/:id` assigns the body's fields onto one (the record). Errors
 * are thrown, for the `/_sandbox` router to answer 400.
 */
export function addCollectionRoutes<T extends object, Seed>(
  router: Router,
  name: string,
  collection: {
    records: Map<string, T>;
    list?: boolean;
    /** The body, as `schema` reads it, seeds a record through `create`. */
    seed?: { schema: z.ZodType<Seed>; create(fields: Seed): T };
    /** The body, as `schema` reads it, is assigned onto the record; a missing one is `no sandbox <noun> <id>`. */
    change?: { schema: z.ZodType<Partial<T>>; noun: string };
  },
): void {
  const { records, list = true, seed, change } = collection;
  if (seed) {
    router.post(`/${name}`, async (ctx) => {
      ctx.status = 201;
      ctx.body = seed.create(seed.schema.parse(await readJsonBody(ctx)));
    });
  }
  if (change) {
    router.patch(`/${name}/:id`, async (ctx) => {
      const fields = change.schema.parse(await readJsonBody(ctx));
      const id = ctx.params.id ?? '';
      const record = records.get(id);
      if (!record) throw new Error(`no sandbox ${change.noun} ${id}`);
      ctx.body = Object.assign(record, fields);
    });
  }
  if (list) {
    router.get(`/${name}`, (ctx) => {
      ctx.body = [...records.values()];
    });
  }
}

/** POST `/subscriptions/:id/renew` with `{ outcome }` (default `succeed`): the period ends now; answers what `renew` returns. */
export function addRenewRoute(router: Router, renew: (id: string, outcome: AttemptOutcome) => unknown): void {
  router.post('/subscriptions/:id/renew', async (ctx) => {
    ctx.body = renew(ctx.params.id ?? '', renewalSchema.parse(await readJsonBody(ctx)).outcome);
  });
}
