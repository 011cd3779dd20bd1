import type Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { deadLetterKinds, type DeadLetterKind } from '../core/dead-letters';
import { providerNames } from '../providers/registry';
import type { WorkflowRouteEntry } from '../workflow-routes';
import { bearerGuard } from './bearer';
import type { ReceiverDeadLetters } from './dead-letters';
import { ReceiverError, type ReceiverState } from './errors';
import { describeReplay, replayDeadLetter } from './replay';

interface DeliveriesDeps {
  config: Config;
  client: Client;
  routes?: readonly WorkflowRouteEntry[];
  deadLetters?: ReceiverDeadLetters;
}

/**
 * The operator's API over dead letters, behind `Authorization: Bearer <BILLFLOW_API_TOKEN>`:
 * - `GET /deliveries?provider=&kind=&limit=&before=`: dead letters, newest first, without their bodies;
 * - `GET /deliveries/verification-failures?limit=`: counts per provider and reason, and the latest kept;
 * - `GET /deliveries/:id`: one, with the delivery (body as text) or the event it holds;
 * - `POST /deliveries/:id/replay`: through normalise → route → signal-with-start again.
 * Fails closed like `/accounts`: without a token or a store of this process's own, 503.
 */
export function addDeliveryRoutes(router: Router<ReceiverState>, deps: DeliveriesDeps): void {
  const guard = deps.config.apiToken ? bearerGuard(deps.config.apiToken) : undefined;
  const guarded = (ctx: { get(name: string): string }): ReceiverDeadLetters => {
    if (!guard) throw new ReceiverError(503, 'deliveries API not configured: set BILLFLOW_API_TOKEN');
    guard(ctx.get('Authorization'));
    if (!deps.deadLetters) throw new ReceiverError(503, 'dead-letter store not available in this process (set DATABASE_URL)');
    return deps.deadLetters;
  };

  router.get('/deliveries', async (ctx) => {
    const { store } = guarded(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      deliveries: await store.list({
        provider: oneOf(ctx.query.provider, providerNames, 'provider'),
        kind: oneOf<DeadLetterKind>(ctx.query.kind, deadLetterKinds, 'kind'),
        limit: count(ctx.query.limit),
        before: id(ctx.query.before, 'before'),
      }),
    };
  });

  router.get('/deliveries/verification-failures', async (ctx) => {
    const { verificationFailures } = guarded(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await verificationFailures.summary(count(ctx.query.limit));
  });

  router.get('/deliveries/:id', async (ctx) => {
    const { store } = guarded(ctx);
    const letter = await store.get(ctx.params.id ?? '');
    if (!letter) throw new ReceiverError(404, 'no such dead letter');
    ctx.set('Cache-Control', 'no-store');
    const { delivery, ...rest } = letter;
    ctx.body = delivery ? { ...rest, delivery: { ...delivery, body: Buffer.from(delivery.bodyBase64, 'base64').toString('utf8') } } : rest;
  });

  router.post('/deliveries/:id/replay', async (ctx) => {
    const { store } = guarded(ctx);
    const letter = await store.get(ctx.params.id ?? '');
    if (!letter) throw new ReceiverError(404, 'no such dead letter');
    try {
      const outcome = await replayDeadLetter(letter, deps);
      await store.markReplayed(letter.id, describeReplay(outcome));
      ctx.body = outcome;
    } catch (error) {
      if (error instanceof ReceiverError) await store.markReplayed(letter.id, `refused: ${error.reason}`);
      throw error;
    }
  });
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new ReceiverError(400, `${name} is repeated`);
  return value === '' ? undefined : value;
}

function oneOf<T extends string>(value: string | string[] | undefined, allowed: readonly T[], name: string): T | undefined {
  const text = single(value, name);
  if (text === undefined) return undefined;
  if (!allowed.includes(text as T)) throw new ReceiverError(400, `${name} must be one of ${allowed.join(', ')}`);
  return text as T;
}

function count(value: string | string[] | undefined): number | undefined {
  const text = single(value, 'limit');
  if (text === undefined) return undefined;
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 500) throw new ReceiverError(400, 'limit must be a number from 1 to 500');
  return Number(text);
}

function id(value: string | string[] | undefined, name: string): string | undefined {
  const text = single(value, name);
  if (text !== undefined && !/^\d{1,18}$/.test(text)) throw new ReceiverError(400, `${name} must be a dead letter id`);
  return text;
}
