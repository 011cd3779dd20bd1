import { Router, type RouterContext } from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { ErrorRenderer, Faults } from './faults';
import type { RequestLog } from './request-log';

/** What every provider's API in the sandbox shares: the faults queued for it and the log of its requests. */
export interface SandboxPlumbing {
  faults: Faults;
  log: RequestLog;
}

export interface ProviderApiOptions {
  /** The provider: its path prefix (`/<name>`), and its name in the request log and in faults. */
  name: string;
  /** A faulted answer in the provider's own error envelope. */
  renderFault: ErrorRenderer;
  /** Whether the request may go on (credentials, required headers); when not, it has answered the refusal. */
  admit?(ctx: Context): boolean;
  /** Runs once a request is admitted, before the routes: replay by Idempotency-Key, for providers that take one. */
  replay?: Middleware;
  /**
   * Queued faults strike behind authentication and replay, as errors of the API itself that the
   * provider keeps for the key (Stripe), instead of in front of everything (the default).
   */
  faultsBehindReplay?: boolean;
  /** The answer to a path the API does not have. */
  notFound(ctx: Context): void;
}

/**
 * A provider's API under `/<name>`, in the order the real ones answer: every request recorded (faults
 * and refusals too), then faulted as queued, admitted, replayed, and answered by the routes
 * `addRoutes` adds (with `faultsBehindReplay`: admitted, replayed, then faulted); any other path is
 * `notFound`.
 */
export function providerApi(plumbing: SandboxPlumbing, options: ProviderApiOptions, addRoutes: (router: Router) => void): Router {
  const router = new Router({ prefix: `/${options.name}` });
  router.use(plumbing.log.recorder(options.name));
  const faults = plumbing.faults.middleware(options.name, options.renderFault);
  if (!options.faultsBehindReplay) router.use(faults);
  const { admit, replay } = options;
  if (admit) {
    router.use(async (ctx, next) => {
      if (admit(ctx)) await next();
    });
  }
  if (replay) router.use(replay);
  if (options.faultsBehindReplay) router.use(faults);
  addRoutes(router);
  router.all('/{*rest}', options.notFound);
  return router;
}

/** Whether the request carries `Authorization: Bearer <token>`. */
export function hasBearerToken(ctx: Context, token: string): boolean {
  return ctx.get('Authorization') === `Bearer ${token}`;
}

/** An `admit` for APIs that take a bearer token and nothing else: requests without it are answered by `refuse`. */
export function bearerTokenOnly(token: string, refuse: (ctx: Context) => void): (ctx: Context) => boolean {
  return (ctx) => {
    if (hasBearerToken(ctx, token)) return true;
    refuse(ctx);
    return false;
  };
}

/** The record a path names by its id, or undefined once it has answered the provider's 404. */
export type RecordFinder<T> = (ctx: Context, id: string) => T | undefined;

/**
 * A handler for a route on one record (`/invoices/:id/pay`): `handle` runs with the record `find`
 * looks up by the path's id; when there is none, `find` has answered the provider's 404.
 */
export function onRecord<T>(find: RecordFinder<T>, handle: (ctx: RouterContext, record: T) => void): (ctx: RouterContext) => void {
  return (ctx) => {
    const record = find(ctx, ctx.params.id ?? '');
    if (record !== undefined) handle(ctx, record);
  };
}
