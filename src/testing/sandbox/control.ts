import { Router } from '@koa/router';
import { z } from 'zod';
import type { Faults } from './faults';
import { readJsonBody } from './json-body';
import type { RequestLog } from './request-log';

const faultSchema = z.object({
  provider: z.string().min(1).optional(),
  method: z.string().min(1).optional(),
  count: z.number().int().positive().optional(),
  status: z.number().int().min(400).max(599).optional(),
  retryAfterSeconds: z.number().int().nonnegative().optional(),
  hang: z.boolean().optional(),
});

/**
 * Routes under `/_sandbox` that drive the sandbox from outside the process: seed provider state,
 * queue faults, read the requests received, start over.
 */
export function controlRoutes(parts: { providers: { control(): Router }[]; faults: Faults; log: RequestLog; reset(): void }): Router {
  const router = new Router({ prefix: '/_sandbox' });
  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      // Control calls come from people and tests: say plainly what was wrong with the call.
      ctx.status = 400;
      ctx.body = { error: error instanceof z.ZodError ? z.prettifyError(error) : String(error instanceof Error ? error.message : error) };
    }
  });
  router.get('/requests', (ctx) => {
    const provider = ctx.query.provider;
    ctx.body = typeof provider === 'string' ? parts.log.of(provider) : parts.log.entries;
  });
  router.post('/faults', async (ctx) => {
    parts.faults.failNext(faultSchema.parse(await readJsonBody(ctx)));
    ctx.status = 204;
  });
  router.post('/reset', (ctx) => {
    parts.reset();
    ctx.status = 204;
  });
  for (const provider of parts.providers) router.use(provider.control().routes());
  return router;
}
