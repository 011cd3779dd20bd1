import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { AccountStore } from '../store/account-store';
import { openDatabase, type Database } from '../store/database';
import type { Config } from '../config';
import { ReceiverMetrics } from '../metrics';
import { providerNames } from '../providers/registry';
import { createReceiverApp } from '../receiver/app';
import { receiverDeadLetters, type ReceiverDeadLetters } from '../receiver/dead-letters';
import { temporalConnectionOptions } from '../temporal/connection';
import { temporalCallsSettled } from '../temporal/deliver';
import { signalRetryInterceptors } from '../temporal/grpc-retry';
import { startTracing, type Tracing } from '../tracing/start';
import type { WorkflowRouteEntry } from '../workflow-routes';

export interface RunningReceiver {
  url: string;
  port: number;
  metrics: ReceiverMetrics;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** The account store `GET /accounts/…` reads; pass the worker's when both run in one process. */
  accounts?: AccountStore;
  /** Your workflows' routes, signalled in addition to billflow's own workflows. */
  routes?: readonly WorkflowRouteEntry[];
  /**
   * The Temporal client to signal through; default one connected as `config.temporal` says (with
   * the OpenTelemetry client interceptor when tracing is on: give yours that interceptor too).
   */
  client?: Client;
  /** Where dead letters are kept and `/deliveries` reads; pass the worker's database's when both run in one process. */
  deadLetters?: ReceiverDeadLetters;
  /**
   * The process's tracing, when the caller started it (`startTracing`); else the receiver starts
   * its own if `OTEL_EXPORTER_OTLP_ENDPOINT` asks for it, and stops it on close.
   */
  tracing?: Tracing;
}

/** Starts the HTTP receiver. It comes up even while Temporal is down: /readyz tells, webhooks get 503. */
export async function startReceiver(config: Config, logger: Logger, options: ReceiverOptions = {}): Promise<RunningReceiver> {
  const ownTracing = options.tracing ? undefined : await startTracing(config.tracing, { serviceName: 'billflow-receiver', logger });
  const tracing = options.tracing ?? ownTracing;
  const interceptors = tracing && (await import('../tracing/temporal.js')).tracedClientInterceptors();
  const client =
    options.client ??
    new Client({ connection: Connection.lazy({ ...temporalConnectionOptions(config.temporal), interceptors: signalRetryInterceptors() }), namespace: config.temporal.namespace, ...(interceptors ? { interceptors } : {}) });
  const metrics = new ReceiverMetrics(providerNames);
  // A PostgreSQL store is shared by every process. The embedded one can be opened by one process
  // only — the worker's — so a receiver on its own serves `/accounts` and `/deliveries`, and keeps
  // dead letters itself, only with DATABASE_URL; without it, dead letters go through Temporal.
  let database: Database | undefined;
  if ((!options.accounts || !options.deadLetters) && config.databaseUrl) database = await openDatabase({ databaseUrl: config.databaseUrl });
  const accounts = options.accounts ?? (database && new AccountStore(database));
  const deadLetters = options.deadLetters ?? (database && receiverDeadLetters(database, config));
  const app = createReceiverApp({ config, client, logger, metrics, accounts, deadLetters, routes: options.routes, tracing });
  const { receiveTimeoutMs } = config.receiver;
  // A client that trickles its headers or body is answered 408 and cut once the bound passes
  // (Node's own bound is 300 s), checked every quarter of it: one slow client holds a socket for
  // seconds, not minutes, and never holds up the others.
  const handle = app.callback();
  const server = createServer(
    { requestTimeout: receiveTimeoutMs, headersTimeout: receiveTimeoutMs, connectionsCheckingInterval: Math.max(100, Math.floor(receiveTimeoutMs / 4)) },
    // Koa's handler settles its own promise: it answers errors itself.
    (request, response) => void handle(request, response),
  );
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    metrics,
    async close() {
      // Stop accepting, let in-flight webhooks finish (each is answered only once durable), then go.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      // A call abandoned at its deadline may still be retrying inside the SDK: let it settle first.
      await temporalCallsSettled(client);
      await client.connection.close();
      await database?.close();
      await ownTracing?.shutdown();
    },
  };
}
