import type { Context } from 'koa';
import { z } from 'zod';

/*
 * Recurly v3's lists (`GET /subscriptions`, `GET /invoices`, …) as the sandbox serves them:
 * `limit` 1–200 (20 by default), `order` `asc` | `desc` (default), `sort` `created_at` (default) |
 * `updated_at`, `begin_time` / `end_time` inclusive on the sorted field, `state`, `ids` (alone), and
 * pages linked by `has_more` and a `next` path that carries an opaque cursor and the other
 * parameters, as recurly-client-node's Pager follows them. The cursor is a position in the sort
 * (time, then id), not a row number, so a record changed while the pages are read moves as it does
 * at Recurly: ahead of the cursor in ascending order (listed again later), behind it in descending
 * order (skipped: Recurly's reason to read `updated_at` ascending only).
 */

/** What a list needs of a record. */
export interface ListedRecord {
  id: string;
  state: string;
  createdAt: string;
  updatedAt: string;
}

/** Recurly renders its times to the second: many records share one, and a cursor must hold ties. */
export function recurlyTime(iso: string): string {
  return new Date(Math.floor(Date.parse(iso) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const time = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'is not an ISO-8601 time');
// Other parameters are the list's own filters, not refused (the sandbox keeps none of them).
const listParams = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  sort: z.enum(['created_at', 'updated_at']).default('created_at'),
  begin_time: time.optional(),
  end_time: time.optional(),
  state: z.string().min(1).optional(),
  cursor: z.string().min(1).optional(),
});

const cursorSchema = z.tuple([z.number(), z.string()]);

/** Answers a list request for `records` (rendered by `render`), or Recurly's 400 for parameters it refuses. */
export function serveList<T extends ListedRecord>(ctx: Context, resource: string, records: readonly T[], render: (record: T) => unknown): void {
  const query = Object.fromEntries(new URLSearchParams(ctx.querystring));
  if (query.ids !== undefined) {
    if (Object.keys(query).length > 1) return refuse(ctx, 'The ids parameter cannot be combined with other parameters');
    const ids = new Set(query.ids.split(','));
    ctx.body = { object: 'list', has_more: false, next: null, data: records.filter((record) => ids.has(record.id)).map(render) };
    return;
  }
  const parsed = listParams.safeParse(query);
  if (!parsed.success) return refuse(ctx, parsed.error.issues.map((issue) => `${issue.path.join('.') || 'parameters'}: ${issue.message}`).join('; '));
  const params = parsed.data;
  let after: z.infer<typeof cursorSchema> | undefined;
  if (params.cursor !== undefined) {
    const decoded = cursorSchema.safeParse(decodeCursor(params.cursor));
    if (!decoded.success) return refuse(ctx, 'cursor is not valid');
    after = decoded.data;
  }
  const keyOf = (record: T): [number, string] => [Date.parse(recurlyTime(params.sort === 'updated_at' ? record.updatedAt : record.createdAt)), record.id];
  const direction = params.order === 'asc' ? 1 : -1;
  const compare = (a: [number, string], b: [number, string]) => direction * (a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const begin = params.begin_time === undefined ? -Infinity : Date.parse(params.begin_time);
  const end = params.end_time === undefined ? Infinity : Date.parse(params.end_time);
  const selected = records
    .map((record) => ({ record, key: keyOf(record) }))
    .filter(({ record, key }) => key[0] >= begin && key[0] <= end && (params.state === undefined || record.state === params.state))
    .filter(({ key }) => after === undefined || compare(key, after) > 0)
    .sort((a, b) => compare(a.key, b.key));
  const page = selected.slice(0, params.limit);
  const hasMore = selected.length > params.limit;
  const last = page.at(-1);
  let next: string | null = null;
  if (hasMore && last) {
    const rest = { ...query };
    delete rest.cursor;
    next = `/${resource}?${new URLSearchParams({ cursor: encodeCursor(last.key), ...rest }).toString()}`;
  }
  ctx.body = { object: 'list', has_more: hasMore, next, data: page.map(({ record }) => render(record)) };
}

function encodeCursor(key: [number, string]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function refuse(ctx: Context, message: string): void {
  ctx.status = 400;
  ctx.body = { error: { type: 'bad_request', message } };
}
