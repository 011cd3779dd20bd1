import type { RouterMiddleware } from '@koa/router';
import type { Client } from '@temporalio/client';
import { withTemporalDeadline } from '../temporal/deliver';
import type { ReceiverState } from './errors';

const readinessDeadlineMs = 1000;

/** `GET /healthz`: the process is up and serving. */
export const live: RouterMiddleware<ReceiverState> = (ctx) => {
  ctx.body = { status: 'ok' };
};

/** `GET /readyz`: Temporal answers, so webhooks can be accepted rather than answered 503. */
export function ready(client: Client): RouterMiddleware<ReceiverState> {
  return async (ctx) => {
    try {
      await withTemporalDeadline(client, readinessDeadlineMs, () => client.connection.workflowService.getSystemInfo({}));
      ctx.body = { status: 'ready' };
    } catch (error) {
      ctx.state.log.warn({ err: error }, 'not ready: Temporal does not answer');
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: 'Temporal does not answer' };
    }
  };
}
