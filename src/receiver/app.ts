import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { AccountStore } from '../store/account-store';
import type { Config } from '../config';
import type { ReceiverMetrics } from '../metrics';
import type { Tracing } from '../tracing/start';
import type { WorkflowRouteEntry } from '../workflow-routes';
import { accountLookup } from './accounts';
import type { ReceiverDeadLetters } from './dead-letters';
import { addDeliveryRoutes } from './deliveries';
import { requireBearer } from './bearer';
import { handleErrors, type ReceiverState } from './errors';
import { live, ready } from './health';
import { traceWebhooks } from './tracing';
import { receiveWebhook } from './webhook';

export interface ReceiverDeps {
  config: Config;
  client: Client;
  logger: Logger;
  /** Your workflows' routes: each event goes to billflow's own workflow and to every route of its kind. */
  routes?: readonly WorkflowRouteEntry[];
  /** Counted per delivery and served at `GET /metrics` when given. */
  metrics?: ReceiverMetrics;
  /** Read by `GET /accounts/:provider/:customerId`; without it that route answers 503. */
  accounts?: AccountStore;
  /**
   * Dead letters and verification failures this receiver keeps itself and serves at `/deliveries`;
   * without them dead letters go to the worker's store through Temporal, and `/deliveries` answers 503.
   */
  deadLetters?: ReceiverDeadLetters;
  /**
   * The process's tracing: a server span per webhook delivery. Give the Temporal client the
   * package's client interceptor too (`startReceiver` does), so the trace goes on into the workflows.
   */
  tracing?: Tracing;
}

/** billflow's receiver as a Koa app of its own: what `billflow receiver` serves. */
export function createReceiverApp(deps: ReceiverDeps): Koa<ReceiverState> {
  const { config, logger, metrics } = deps;
  // Behind N trusted proxies ctx.ip is the address the outermost one saw (the Nth entry from the
  // right of X-Forwarded-For); without them it is the socket's, and X-Forwarded-For is ignored.
  const hops = config.receiver.trustProxyHops;
  const app = new Koa<ReceiverState>({ proxy: hops > 0, maxIpsCount: hops });
  warnIfUnverified(deps);
  const router = addReceiverRoutes(new Router<ReceiverState>(), deps);

  if (metrics) app.use(metrics.countDeliveries());
  if (deps.tracing) app.use(traceWebhooks(deps.tracing.tracer));
  app.use(handleErrors(logger, { retryAfterSeconds: config.receiver.retryAfterSeconds }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  // Only what escapes the middleware above lands here: the socket failed while answering, mostly
  // because the client hung up. Not the receiver's fault, and nothing left to answer.
  app.on('error', (error: unknown, ctx?: Koa.ParameterizedContext<Partial<ReceiverState>>) => {
    (ctx?.state.log ?? logger).warn({ err: error }, 'could not finish the answer');
  });
  return app;
}

/**
 * billflow's receiver as a router to mount in your own Koa app:
 * `app.use(createReceiverRouter({ config, client, logger, routes, prefix: '/billing' }).routes())`.
 * It serves `POST <prefix>/webhooks/:provider` and billflow's `healthz`, `readyz`, `accounts` (and
 * `metrics` when given) under the prefix, with billflow's error answers and request logs on its
 * routes only. Client addresses (allow-lists) are your app's `ctx.ip`: set `proxy` on your app as
 * `TRUST_PROXY` says.
 */
export function createReceiverRouter(deps: ReceiverDeps & { prefix?: string }): Router<ReceiverState> {
  const router = new Router<ReceiverState>(deps.prefix ? { prefix: deps.prefix } : {});
  warnIfUnverified(deps);
  if (deps.metrics) router.use(deps.metrics.countDeliveries(deps.prefix));
  if (deps.tracing) router.use(traceWebhooks(deps.tracing.tracer, deps.prefix));
  router.use(handleErrors(deps.logger, { retryAfterSeconds: deps.config.receiver.retryAfterSeconds }));
  return addReceiverRoutes(router, deps);
}

function addReceiverRoutes(router: Router<ReceiverState>, { config, client, metrics, accounts, routes, deadLetters }: ReceiverDeps): Router<ReceiverState> {
  router.post('/webhooks/:provider', receiveWebhook({ config, client, metrics, routes, deadLetters }));
  router.get('/healthz', live);
  router.get('/readyz', ready(client));
  router.get('/accounts/:provider/:customerId', accountLookup({ apiToken: config.apiToken, accounts }));
  addDeliveryRoutes(router, { config, client, routes, deadLetters });
  if (metrics) router.get('/metrics', requireBearer(config.metricsToken), metrics.serve());
  return router;
}

function warnIfUnverified({ config, logger }: ReceiverDeps): void {
  if (config.insecureAllowUnverified.length === 0) return;
  logger.warn(
    { providers: config.insecureAllowUnverified },
    'BILLFLOW_INSECURE_ALLOW_UNVERIFIED: webhooks of these providers are accepted WITHOUT verification; never set it in production',
  );
}
