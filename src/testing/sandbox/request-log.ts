import type { Middleware } from 'koa';
import getRawBody from 'raw-body';

/** One call a client made to a sandboxed provider API, as it arrived. */
export interface RecordedRequest {
  provider: string;
  method: string;
  /** Includes the provider prefix, e.g. `/gocardless/mandates/MD123`. */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, else the text; undefined when empty. */
  body: unknown;
  /** The status answered; undefined while the request is still being answered (or hangs). */
  status?: number;
  at: string;
}

export class RequestLog {
  readonly entries: RecordedRequest[] = [];

  of(provider: string): RecordedRequest[] {
    return this.entries.filter((entry) => entry.provider === provider);
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** First in a provider's chain: records every request, faults and refusals included. */
  recorder(provider: string): Middleware {
    return async (ctx, next) => {
      const text = (await getRawBody(ctx.req, { limit: '1mb', encoding: 'utf8' })).trim();
      const entry: RecordedRequest = {
        provider,
        method: ctx.method,
        path: ctx.path,
        headers: Object.fromEntries(
          Object.entries(ctx.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]),
        ),
        body: text === '' ? undefined : parseOrKeep(text),
        at: new Date().toISOString(),
      };
      this.entries.push(entry);
      // The stream is read now: handlers that need the body take it from here.
      ctx.state.rawBody = text;
      try {
        await next();
      } finally {
        entry.status = ctx.status;
      }
    };
  }
}

function parseOrKeep(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
