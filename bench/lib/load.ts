import http from 'node:http';
import type { PreparedWebhook } from './webhooks';

export interface LoadResult {
  /** Items whose call succeeded (2xx / accepted by Temporal). */
  ok: number;
  failed: number;
  /** Status (or error name) → count, for the failures. */
  failures: Record<string, number>;
  /** Latency of every successful call, ms. */
  latencies: number[];
  /** First call sent → last call answered, ms. */
  elapsedMs: number;
  startedAt: number;
  endedAt: number;
  /** Stopped by the time limit before every item was sent. */
  truncated: boolean;
}

/**
 * Sends every item with `concurrency` calls in flight at all times (a closed loop: each of the
 * `concurrency` lanes sends its next item as soon as its previous call is answered). Bounded by
 * the number of items and by `timeLimitMs`.
 */
export async function closedLoop<T>(
  items: readonly T[],
  concurrency: number,
  call: (item: T) => Promise<true | string>,
  timeLimitMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  const startedAt = Date.now();
  const deadline = startedAt + timeLimitMs;
  const started = performance.now();
  const lane = async () => {
    while (next < items.length && Date.now() < deadline) {
      const item = items[next++] as T;
      const sent = performance.now();
      let outcome: true | string;
      try {
        outcome = await call(item);
      } catch (error) {
        outcome = error instanceof Error ? error.name : 'error';
      }
      if (outcome === true) {
        ok += 1;
        latencies.push(performance.now() - sent);
      } else {
        failed += 1;
        failures[outcome] = (failures[outcome] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  const elapsedMs = performance.now() - started;
  return { ok, failed, failures, latencies, elapsedMs, startedAt, endedAt: Date.now(), truncated: next < items.length };
}

export interface HttpAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A keep-alive connection pool to the receiver, one socket per lane. */
export function keepAliveAgent(concurrency: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
}

/** POSTs the webhook's exact bytes and headers; resolves with the answer (any status), rejects on network errors. */
export function postWebhook(agent: http.Agent, baseUrl: string, webhook: Pick<PreparedWebhook, 'path' | 'headers' | 'body'>, timeoutMs = 30_000): Promise<HttpAnswer> {
  return postRaw(agent, `${baseUrl}${webhook.path}`, webhook.headers, webhook.body, timeoutMs);
}

export function postRaw(agent: http.Agent, url: string, headers: Record<string, string>, body: Buffer, timeoutMs = 30_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) }, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('timed out'), { name: 'Timeout' })));
    request.on('error', reject);
    request.end(body);
  });
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}
