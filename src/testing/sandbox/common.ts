import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

/** What a sandboxed payment attempt does: stands until changed, so a retry fails again on command. */
export const attemptOutcomes = ['succeed', 'decline'] as const;
export type AttemptOutcome = (typeof attemptOutcomes)[number];

export const renewalSchema = z.object({ outcome: z.enum(attemptOutcomes).default('succeed') });

export function newId(prefix: string, length = 14): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, length)}`;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** The body the request log read off the stream, as text. */
export function rawBodyOf(ctx: Context): string {
  return typeof ctx.state.rawBody === 'string' ? ctx.state.rawBody : '';
}

/** That body parsed as JSON; `{}` when empty or not JSON, so the handler's schema says what is wrong. */
export function jsonBodyOf(ctx: Context): unknown {
  const text = rawBodyOf(ctx);
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    return {};
  }
}

/** An answer kept for its idempotency key: the same key gets the same answer and no second effect. */
interface KeptAnswer {
  method: string;
  path: string;
  status: number;
  body: unknown;
  /** True while the first request with the key is still being answered. */
  pending: boolean;
}

export interface ReplayOptions {
  /** Methods whose requests are keyed; others pass through. */
  methods: readonly string[];
  /** Answers a key reused for another method or path. */
  refuseReuse(ctx: Context): void;
  /** Answers a key whose first request is still being answered. */
  refuseConcurrent(ctx: Context): void;
  /** Marks a replayed answer the way the provider does, if it does. */
  markReplay?(ctx: Context): void;
  /**
   * Whether an answer with this status is kept for its key. By default a server error is not
   * (the request may be sent again with its key); Stripe keeps those too and replays them.
   */
  keeps?(status: number): boolean;
}

const keptByDefault = (status: number) => status < 500;

/** Replays answers by `Idempotency-Key`, as providers that take one do. */
export class KeptAnswers {
  private readonly answers = new Map<string, KeptAnswer>();

  clear(): void {
    this.answers.clear();
  }

  middleware(options: ReplayOptions): Middleware {
    return async (ctx, next) => {
      const key = ctx.get('Idempotency-Key');
      if (key === '' || !options.methods.includes(ctx.method)) return next();
      const kept = this.answers.get(key);
      if (kept && (kept.method !== ctx.method || kept.path !== ctx.path)) return options.refuseReuse(ctx);
      if (kept?.pending) return options.refuseConcurrent(ctx);
      if (kept) {
        ctx.status = kept.status;
        ctx.body = kept.body;
        options.markReplay?.(ctx);
        return;
      }
      const entry: KeptAnswer = { method: ctx.method, path: ctx.path, status: 0, body: undefined, pending: true };
      this.answers.set(key, entry);
      try {
        await next();
      } catch (error) {
        this.answers.delete(key);
        throw error;
      }
      if (!(options.keeps ?? keptByDefault)(ctx.status)) {
        this.answers.delete(key);
        return;
      }
      Object.assign(entry, { status: ctx.status, body: ctx.body, pending: false });
    };
  }
}
