import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { HttpRefusal } from '../core/errors';
import { TemporalUnavailableError } from '../temporal/deliver';

export interface ReceiverState {
  requestId: string;
  /** Bound to the request id. */
  log: Logger;
  /**
   * What handlers learn about the request (provider, event ids, workflow ids), added to every line
   * logged about it. Kept as plain fields rather than rebinding child loggers: a child per fact
   * cost more CPU per webhook than verifying it.
   */
  logFields: Record<string, unknown>;
}

/** A failure the receiver answers with its own status and a short reason that is safe to show. */
export class ReceiverError extends HttpRefusal {
  override name = 'ReceiverError';
}

interface Answer {
  status: number;
  reason: string;
  headers?: Readonly<Record<string, string>>;
}

function answerFor(error: unknown, retryAfterSeconds: number): Answer | undefined {
  if (error instanceof HttpRefusal) return error;
  if (error instanceof TemporalUnavailableError) {
    return { status: 503, reason: 'Temporal is unavailable', headers: { 'Retry-After': String(retryAfterSeconds) } };
  }
  return undefined;
}

/**
 * Outermost middleware: gives every request an id (logged on every line, echoed as X-Request-Id),
 * turns every failure into a JSON answer, and logs one line per request (with what the handlers
 * put in `logFields`). Nothing thrown below it
 * reaches Koa's default handler, and no answer carries more than a fixed, short reason.
 */
export function handleErrors(logger: Logger, options: { retryAfterSeconds: number }): Middleware<ReceiverState> {
  // The "request done" line holds only what billflow's handlers put in `logFields` (ids, counts,
  // short fixed reasons), never a header, a body or a setting: it skips the logger's redaction,
  // which deep-copies every line it checks and cost three times the rest of the line.
  const doneLines = logger.child({}, { redact: [] });
  return async (ctx, next) => {
    const started = performance.now();
    ctx.state.requestId = randomUUID();
    ctx.state.log = logger.child({ requestId: ctx.state.requestId });
    ctx.state.logFields = {};
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        // Setting a body makes Koa answer 200 unless the status is set again: a provider pointed at a
        // mistyped URL must hear 404, never that its delivery succeeded.
        ctx.body = { error: 'not found' };
        ctx.status = 404;
      }
    } catch (error) {
      const answer = answerFor(error, options.retryAfterSeconds);
      ctx.status = answer?.status ?? 500;
      ctx.body = { error: answer?.reason ?? 'internal error' };
      ctx.set(answer?.headers ?? {});
      if (answer === undefined || answer.status >= 500) {
        ctx.state.log.error({ ...ctx.state.logFields, err: error }, answer?.reason ?? 'unexpected error');
      } else {
        ctx.state.log.warn({ ...ctx.state.logFields, reason: answer.reason }, 'request refused');
      }
    }
    const ms = Math.round(performance.now() - started);
    // Probes and scrapes (successful GETs) come every few seconds: kept out of the info log.
    const level = ctx.method === 'GET' && ctx.status < 400 ? 'debug' : 'info';
    doneLines[level]({ requestId: ctx.state.requestId, ...ctx.state.logFields, method: ctx.method, path: ctx.path, status: ctx.status, ms }, 'request done');
  };
}
