import type { Context } from 'koa';
import getRawBody from 'raw-body';

/** The request body as JSON, `{}` when empty; throws on anything else. */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  const text = (await getRawBody(ctx.req, { limit: '1mb', encoding: 'utf8' })).trim();
  return text === '' ? {} : JSON.parse(text);
}
