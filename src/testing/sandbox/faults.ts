import type { Context, Middleware } from 'koa';

/** What the next requests to a provider suffer instead of being answered. */
export interface Fault {
  /** Only requests to this provider (e.g. `gocardless`); any provider when absent. */
  provider?: string;
  /** Only requests with this method (e.g. `PUT`, to let the read before an action through); any when absent. */
  method?: string;
  /** How many requests in a row; 1 when absent. */
  count?: number;
  /** The HTTP status to answer, e.g. 429 or 500. */
  status?: number;
  /** Sent as `Retry-After`, in seconds. */
  retryAfterSeconds?: number;
  /** Never answer: hold the request until the client gives up or the sandbox closes. */
  hang?: boolean;
}

/** Renders a faulted answer in the provider's own error envelope. */
export type ErrorRenderer = (ctx: Context, status: number) => void;

export class Faults {
  private readonly queue: { fault: Fault; remaining: number }[] = [];
  private readonly held = new Set<() => void>();

  failNext(fault: Fault): void {
    if (!fault.hang && fault.status === undefined) throw new Error('a fault needs a status or hang: true');
    this.queue.push({ fault, remaining: fault.count ?? 1 });
  }

  /** Lets every held request go and forgets the faults still queued. */
  reset(): void {
    this.queue.length = 0;
    for (const release of [...this.held]) release();
  }

  middleware(provider: string, renderError: ErrorRenderer): Middleware {
    return async (ctx, next) => {
      const fault = this.take(provider, ctx.method);
      if (!fault) return next();
      if (fault.hang) {
        await this.hold(ctx);
        renderError(ctx, 504);
        return;
      }
      if (fault.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(fault.retryAfterSeconds));
      renderError(ctx, fault.status ?? 500);
    };
  }

  private take(provider: string, method: string): Fault | undefined {
    const index = this.queue.findIndex(
      ({ fault }) => (fault.provider === undefined || fault.provider === provider) && (fault.method === undefined || fault.method.toUpperCase() === method),
    );
    const slot = this.queue[index];
    if (!slot) return undefined;
    slot.remaining -= 1;
    if (slot.remaining <= 0) this.queue.splice(index, 1);
    return slot.fault;
  }

  private hold(ctx: Context): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        this.held.delete(release);
        ctx.res.off('close', release);
        resolve();
      };
      this.held.add(release);
      // The response closes when the client aborts (its timeout) or the connection drops.
      ctx.res.once('close', release);
    });
  }
}
