import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { AccountStore } from '../store/account-store';
import type { Config } from '../config';
import type { ReceiverMetrics } from '../metrics';
import { accountLookup } from './accounts';
import { requireBearer } from './bearer';
import { handleErrors, type ReceiverState } from './errors';
import { live, ready } from './health';
import { receiveWebhook } from './webhook';

export interface ReceiverDeps {
  config: Config;
  client: Client;
  logger: Logger;
  /** Counted per delivery and served at `GET /metrics` when given. */
  metrics?: ReceiverMetrics;
  /** Read by `GET /accounts/:provider/:customerId`; without it that route answers 503. */
  accounts?: AccountStore;
}

export function createReceiverApp({ config, client, logger, metrics, accounts }: ReceiverDeps): Koa<ReceiverState> {
  // Behind N trusted proxies ctx.ip is the address the outermost one saw (the Nth entry from the
  // right of X-Forwarded-For); without them it is the socket's, and X-Forwarded-For is ignored.
  const hops = config.receiver.trustProxyHops;
  const app = new Koa<ReceiverState>({ proxy: hops > 0, maxIpsCount: hops });
  if (config.insecureAllowUnverified.length > 0) {
    logger.warn(
      { providers: config.insecureAllowUnverified },
      'BILLFLOW_INSECURE_ALLOW_UNVERIFIED: webhooks of these providers are accepted WITHOUT verification; never set it in production',
    );
  }
  const router = new Router<ReceiverState>();
  router.post('/webhooks/:provider', receiveWebhook({ config, client, metrics }));
  router.get('/healthz', live);
  router.get('/readyz', ready(client));
  router.get('/accounts/:provider/:customerId', accountLookup({ apiToken: config.apiToken, accounts }));
  if (metrics) router.get('/metrics', requireBearer(config.metricsToken), metrics.serve());

  if (metrics) app.use(metrics.countDeliveries());
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
