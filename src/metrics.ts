import type { Middleware } from 'koa';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BillingEvent } from './core/events';


/**
 * The receiver's Prometheus metrics, on a registry of its own (not prom-client's global one), so
 * that several receivers in one process — tests — never share or double-register series.
 */
export class ReceiverMetrics {
  readonly registry = new Registry();

  private readonly received = new Counter({
    name: 'billflow_webhooks_received_total',
    help: 'Webhook deliveries answered, by provider and HTTP status',
    labelNames: ['provider', 'status'] as const,
    registers: [this.registry],
  });

  private readonly verificationFailures = new Counter({
    name: 'billflow_webhook_verification_failures_total',
    help: 'Deliveries refused because their signature, credentials or origin did not verify, by provider and reason',
    labelNames: ['provider', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly events = new Counter({
    name: 'billflow_webhook_events_total',
    help: 'Events of verified deliveries, by provider, canonical kind (unknown included) and outcome: routed to a workflow, ignored, or unusable (malformed, kept as a dead letter)',
    labelNames: ['provider', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly signalDuration = new Histogram({
    name: 'billflow_signal_duration_seconds',
    help: 'Time to make all events of one delivery durable in Temporal (signal-with-start), by provider and outcome',
    labelNames: ['provider', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
    registers: [this.registry],
  });

  /** @param knownProviders names accepted in `/webhooks/<name>`; any other name is counted as `unknown`. */
  constructor(private readonly knownProviders: readonly string[]) {
    collectDefaultMetrics({ register: this.registry, prefix: 'billflow_receiver_' });
  }

  /**
   * Outermost middleware: counts every answered webhook delivery by its final status.
   * @param prefix where the webhook routes are mounted (`/billing` for `/billing/webhooks/:provider`).
   */
  countDeliveries(prefix = ''): Middleware {
    const webhookPath = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/webhooks/([^/]+)/?$`);
    return async (ctx, next) => {
      await next();
      const name = webhookPath.exec(ctx.path)?.[1];
      if (name === undefined || ctx.method !== 'POST') return;
      const provider = this.knownProviders.includes(name) ? name : 'unknown';
      this.received.inc({ provider, status: String(ctx.status) });
    };
  }

  verificationFailed(provider: string, reason: string): void {
    // Reasons are short fixed strings; digits are folded so one quoting a number stays one series.
    this.verificationFailures.inc({ provider, reason: reason.replace(/\d+/g, 'N') });
  }

  eventParsed(event: Pick<BillingEvent, 'provider' | 'kind'>, routed: boolean): void {
    this.events.inc({ provider: event.provider, kind: event.kind, outcome: routed ? 'routed' : 'ignored' });
  }

  /** An entry of a verified delivery that could not be read: kept as a dead letter, counted here to alert on. */
  eventUnusable(provider: string): void {
    this.events.inc({ provider, kind: 'unknown', outcome: 'unusable' });
  }

  /** Starts the signal timer; call the result with the outcome once the delivery settled. */
  signalStarted(provider: string): (outcome: 'durable' | 'unavailable') => void {
    const stop = this.signalDuration.startTimer({ provider });
    return (outcome) => void stop({ outcome });
  }

  /** `GET /metrics` in Prometheus's text format. */
  serve(): Middleware {
    return async (ctx) => {
      ctx.set('Content-Type', this.registry.contentType);
      ctx.body = await this.registry.metrics();
    };
  }
}
