import { createHash, timingSafeEqual } from 'node:crypto';
import type { RouterMiddleware } from '@koa/router';
import { ReceiverError, type ReceiverState } from './errors';

/**
 * A check that an `Authorization` header carries `Bearer <token>`, throwing the 401 otherwise.
 * Digests are compared, equal in length whatever was sent, in constant time: the answer's timing
 * tells nothing of the token.
 */
export function bearerGuard(token: string): (authorization: string) => void {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer (.+)$/i.exec(authorization.trim());
    if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), expected)) {
      throw new ReceiverError(401, 'unauthorized', { 'WWW-Authenticate': 'Bearer realm="billflow"' });
    }
  };
}

/** Lets a request through only with `Authorization: Bearer <token>`; everything through without a token. */
export function requireBearer(token: string | undefined): RouterMiddleware<ReceiverState> {
  const guard = token ? bearerGuard(token) : undefined;
  return async (ctx, next) => {
    guard?.(ctx.get('Authorization'));
    await next();
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
