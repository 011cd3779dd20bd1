import type http from 'node:http';
import { signWebhookBody } from '../../src/testing/sign';
import { postWebhook } from './load';
import { benchSecrets, type PreparedWebhook } from './webhooks';

export interface SenderOptions {
  /** Several: deliveries spread over them in turn, and each retry goes to the next one, as behind a load balancer. */
  baseUrl: string | readonly string[];
  agent: http.Agent;
  concurrency: number;
  /** First retry delay; doubled per attempt (with jitter) up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Attempts per delivery before the sender gives up on it (providers stop after days; tests after this many). */
  maxAttempts: number;
  /** The whole run stops sending after this long, whatever is left. */
  timeLimitMs: number;
  /** Per-request timeout: a provider gives up on a slow answer and retries later. */
  requestTimeoutMs: number;
  /** Called after every answer (or network failure); for progress lines. */
  onAnswer?: (stats: SenderStats) => void;
}

export interface SenderStats {
  /** Deliveries to make (each webhook once, duplicates included). */
  webhooks: number;
  /** HTTP attempts made, retries included. */
  attempts: number;
  ok: number;
  status503: number;
  /** Other non-2xx answers, by status. */
  otherStatus: Record<string, number>;
  /** Attempts that got no answer (connection refused or reset, timeout). */
  networkErrors: number;
  /** Deliveries that needed more than one attempt. */
  retried: number;
  /** Deliveries never answered 2xx. */
  gaveUp: number;
}

/**
 * Delivers every webhook the way billing providers do: POST, and on anything but a 2xx (or no answer)
 * try again later (each attempt signed when it is sent), with exponential backoff, honouring Retry-After, until it is accepted. Keeps
 * `concurrency` requests in flight; bounded by attempts per delivery and total time.
 */
export async function sendLikeProvider(webhooks: readonly PreparedWebhook[], options: SenderOptions): Promise<{ stats: SenderStats; delivered: boolean[] }> {
  const stats: SenderStats = { webhooks: webhooks.length, attempts: 0, ok: 0, status503: 0, otherStatus: {}, networkErrors: 0, retried: 0, gaveUp: 0 };
  const delivered = webhooks.map(() => false);
  const attempts = webhooks.map(() => 0);
  const retries: { index: number; dueAt: number }[] = [];
  const deadline = Date.now() + options.timeLimitMs;
  const baseUrls = typeof options.baseUrl === 'string' ? [options.baseUrl] : options.baseUrl;
  let next = 0;
  let inFlight = 0;

  const takeWork = (): number | 'wait' | 'done' => {
    retries.sort((a, b) => a.dueAt - b.dueAt);
    if (retries.length > 0 && (retries[0] as { dueAt: number }).dueAt <= Date.now()) return (retries.shift() as { index: number }).index;
    if (next < webhooks.length) return next++;
    return retries.length > 0 || inFlight > 0 ? 'wait' : 'done';
  };
  const backoff = (attempt: number, retryAfterSeconds: number | undefined) => {
    const exponential = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** (attempt - 1));
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.min(options.maxBackoffMs, Math.max(jittered, (retryAfterSeconds ?? 0) * 1000));
  };

  const lane = async () => {
    while (Date.now() < deadline) {
      const work = takeWork();
      if (work === 'done') return;
      if (work === 'wait') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      const webhook = webhooks[work] as PreparedWebhook;
      attempts[work] = (attempts[work] ?? 0) + 1;
      if (attempts[work] === 2) stats.retried += 1;
      stats.attempts += 1;
      inFlight += 1;
      let retryAfter: number | undefined;
      let ok = false;
      try {
        const baseUrl = baseUrls[(work + (attempts[work] ?? 1)) % baseUrls.length] as string;
        const answer = await postWebhook(options.agent, baseUrl, signedNow(webhook), options.requestTimeoutMs);
        if (answer.status >= 200 && answer.status < 300) {
          ok = true;
          stats.ok += 1;
        } else if (answer.status === 503) {
          stats.status503 += 1;
          const header = Number(answer.headers['retry-after']);
          retryAfter = Number.isFinite(header) ? header : undefined;
        } else {
          stats.otherStatus[answer.status] = (stats.otherStatus[answer.status] ?? 0) + 1;
        }
      } catch {
        stats.networkErrors += 1;
      } finally {
        inFlight -= 1;
      }
      if (ok) delivered[work] = true;
      else if ((attempts[work] ?? 0) < options.maxAttempts) retries.push({ index: work, dueAt: Date.now() + backoff(attempts[work] ?? 1, retryAfter) });
      options.onAnswer?.(stats);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  stats.gaveUp = delivered.filter((done) => !done).length;
  return { stats, delivered };
}

/**
 * An attempt as a provider sends it: the same bytes, signed when sent. Stripe signs the time of each
 * attempt and the receiver refuses a signature older than 5 minutes, so a delivery signed when the
 * run was prepared, sent or retried more than 5 minutes later, would be refused 401 by a correct
 * receiver. (One HMAC per attempt: microseconds.)
 */
function signedNow(webhook: PreparedWebhook): PreparedWebhook {
  const headers = { ...webhook.headers, ...signWebhookBody(webhook.provider, webhook.body, benchSecrets[webhook.provider], { now: new Date(), contentType: webhook.headers['content-type'] }) };
  return { ...webhook, headers };
}

export function describeSender(stats: SenderStats): string {
  const other = Object.entries(stats.otherStatus).map(([status, count]) => `${count}×${status}`);
  return (
    `sent ${stats.webhooks} webhooks in ${stats.attempts} requests: ${stats.ok} 2xx, ${stats.status503} 503` +
    `${other.length ? `, other ${other.join(' ')}` : ''}, ${stats.networkErrors} without answer, ${stats.retried} retried, ${stats.gaveUp} given up`
  );
}
