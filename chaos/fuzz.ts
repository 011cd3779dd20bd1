import path from 'node:path';
import fc from 'fast-check';
import { ccbillWebhookIps } from '../src/providers/ccbill/webhook';
import type { ProviderName } from '../src/core/events';
import type { ProviderSandbox } from '../src/testing/sandbox/server';
import { signWebhookBody } from '../src/testing/sign';
import { closedLoop, keepAliveAgent, postRaw } from '../bench/lib/load';
import { billflowEnvironment, connectClient, startReceiverChild, uniqueTaskQueue } from '../bench/lib/stack';
import { allProviders, benchSecrets, completeReferences, eventNames, newEntity, prepareWebhook, seededRandom, type PreparedWebhook } from '../bench/lib/webhooks';

export interface FuzzReport {
  requests: number;
  byStatus: Record<string, number>;
  /** Forged requests answered 2xx: must be none. */
  accepted: number;
  /** 5xx other than 503: must be none. */
  serverErrors: number;
  status503: number;
  /** Requests that got no answer at all. */
  unanswered: number;
  /** The receiver process died. */
  crashed: boolean;
  /** Workflows on the fuzz task queue plus signal attempts the receiver counted: must be 0. */
  signals: number;
  /** Forgery kinds thrown, with counts. */
  kinds: Record<string, number>;
  passed: boolean;
}

interface Forgery {
  kind: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

const bodyLimitBytes = 64 * 1024;

/** The webhook's headers with its proof of origin made again with `secret` at `at`: what a forger changes. */
function signWith(webhook: PreparedWebhook, body: Buffer, secret: string, at: Date): Record<string, string> {
  return { ...webhook.headers, ...signWebhookBody(webhook.provider, body, secret, { now: at, contentType: webhook.headers['content-type'] }) };
}

const signatureHeaders = ['webhook-signature', 'stripe-signature', 'recurly-signature', 'authorization'];

function withoutProof(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !signatureHeaders.includes(name)));
}

/**
 * Forged, tampered, replayed and plain random requests for every provider, made from genuine signed
 * deliveries: none of them may be accepted, none may get a 5xx, none may reach Temporal.
 */
export function forgeries(count: number, seed: number): Forgery[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const genuine: PreparedWebhook[] = allProviders.flatMap((provider: ProviderName) => {
    const names = eventNames(provider);
    const entity = newEntity(provider, names);
    return names.map((name) => prepareWebhook(provider, name, completeReferences(provider, name, entity)));
  });
  const timestamped = genuine.filter((webhook) => webhook.provider === 'stripe' || webhook.provider === 'recurly');
  const addressed = genuine.filter((webhook) => webhook.provider === 'ccbill');
  const bodySigned = genuine.filter((webhook) => webhook.provider !== 'billforward');
  const randomBodies = fc.sample(fc.oneof(fc.uint8Array({ maxLength: 800 }), fc.json().map((text) => new TextEncoder().encode(text))), { numRuns: 500, seed });
  const randomHeaders = fc.sample(fc.string({ maxLength: 120 }).map((text) => text.replace(/[^\x20-\x7e]/g, '')), { numRuns: 500, seed: seed + 1 });
  const contentTypes = ['application/json', 'application/json; charset=utf-8', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded', 'text/plain', ''];
  const wrongKey = 'not-the-providers-secret';
  // For HTTP Basic, the benchmarks' user with a wrong password.
  const wrongSecret = (provider: ProviderName) => (provider === 'billforward' ? `bench:${wrongKey}` : wrongKey);

  const kinds: ((webhook: PreparedWebhook) => Forgery)[] = [
    // A byte of the body changed after signing (HTTP Basic signs no body: BillForward's proof is its password).
    (any) => {
      const webhook = any.provider === 'billforward' ? pick(bodySigned) : any;
      const body = Buffer.from(webhook.body);
      const index = Math.floor(random() * body.length);
      body[index] = (body[index] as number) ^ (1 + Math.floor(random() * 255));
      return { kind: 'tampered body', path: webhook.path, headers: webhook.headers, body };
    },
    // Signed, but with the wrong secret (or password).
    (webhook) => ({ kind: 'wrong secret', path: webhook.path, headers: signWith(webhook, webhook.body, wrongSecret(webhook.provider), new Date()), body: webhook.body }),
    // Correctly signed an hour ago: a replay outside the tolerance (the providers that sign a timestamp).
    () => {
      const webhook = pick(timestamped);
      return { kind: 'stale replay', path: webhook.path, headers: signWith(webhook, webhook.body, benchSecrets[webhook.provider], new Date(Date.now() - 3600_000)), body: webhook.body };
    },
    (webhook) => ({ kind: 'no signature', path: webhook.path, headers: withoutProof(webhook.headers), body: webhook.body }),
    (any) => {
      const webhook = any.provider === 'billforward' ? pick(bodySigned) : any;
      return { kind: 'truncated body', path: webhook.path, headers: webhook.headers, body: webhook.body.subarray(0, Math.floor(random() * webhook.body.length)) };
    },
    // A genuine delivery of one provider posted as another's.
    (webhook) => {
      const other = pick(allProviders.filter((provider) => provider !== webhook.provider));
      return { kind: 'wrong provider', path: `/webhooks/${other}`, headers: webhook.headers, body: webhook.body };
    },
    (webhook) => {
      const headers = Object.fromEntries(Object.keys(webhook.headers).map((name) => [name, signatureHeaders.includes(name) ? pick(randomHeaders) : (webhook.headers[name] as string)]));
      return { kind: 'garbage signature', path: webhook.path, headers: { ...headers, authorization: `Basic ${pick(randomHeaders)}` }, body: webhook.body };
    },
    (any) => {
      const webhook = any.provider === 'billforward' ? pick(bodySigned) : any;
      return { kind: 'random body', path: webhook.path, headers: { ...webhook.headers, 'content-type': pick(contentTypes) }, body: Buffer.from(pick(randomBodies)) };
    },
    // CCBill's address claimed through X-Forwarded-For (no proxy is trusted here).
    () => {
      const webhook = pick(addressed);
      return { kind: 'spoofed source address', path: webhook.path, headers: { ...webhook.headers, 'x-forwarded-for': pick(ccbillWebhookIps).replace('.0/24', '.5') }, body: webhook.body };
    },
    (webhook) => ({ kind: 'oversized body', path: webhook.path, headers: webhook.headers, body: Buffer.concat([webhook.body, Buffer.alloc(bodyLimitBytes, 0x20)]) }),
    (webhook) => ({ kind: 'unknown provider', path: '/webhooks/paypal', headers: webhook.headers, body: webhook.body }),
  ];
  return Array.from({ length: count }, () => pick(kinds)(pick(genuine)));
}

export interface FuzzOptions {
  temporalAddress: string;
  sandbox: ProviderSandbox;
  requests: number;
  concurrency: number;
  logFile: string;
  seed: number;
  log: (line: string) => void;
}

/** Throws `requests` forgeries at a receiver of its own (live Temporal, own task queue) and counts what came of them. */
export async function fuzzReceiver(options: FuzzOptions): Promise<FuzzReport> {
  const taskQueue = uniqueTaskQueue('fuzz');
  const env = billflowEnvironment({
    temporalAddress: options.temporalAddress,
    taskQueue,
    sandbox: options.sandbox,
    dataDir: path.join(path.dirname(options.logFile), 'fuzz-data'),
    // Only what goes wrong is logged; CCBill's and Recurly's published addresses, loopback not among them.
    logLevel: 'error',
    extra: { CCBILL_ALLOWED_IPS: ccbillWebhookIps.join(','), RECURLY_ALLOWED_IPS: '', WEBHOOK_BODY_LIMIT: String(bodyLimitBytes) },
  });
  const receiver = await startReceiverChild(env, options.logFile);
  const agent = keepAliveAgent(options.concurrency);
  const byStatus: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const acceptedKinds: string[] = [];
  let crashed = false;
  void receiver.child.exited.then(({ signal }) => {
    if (signal !== 'SIGTERM') crashed = true;
  });
  const client = await connectClient(options.temporalAddress);
  try {
    const chunk = 10_000;
    for (let offset = 0; offset < options.requests && !crashed; offset += chunk) {
      const batch = forgeries(Math.min(chunk, options.requests - offset), options.seed + offset);
      for (const forgery of batch) kinds[forgery.kind] = (kinds[forgery.kind] ?? 0) + 1;
      await closedLoop(
        batch,
        options.concurrency,
        async (forgery) => {
          const answer = await postRaw(agent, `${receiver.url}${forgery.path}`, forgery.headers, forgery.body, 15_000);
          byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
          if (answer.status < 300 && acceptedKinds.length < 20) acceptedKinds.push(`${forgery.kind} → ${forgery.path}: ${answer.status} ${answer.body.slice(0, 80)}`);
          return true;
        },
        600_000,
      ).then((result) => {
        for (const [name, count] of Object.entries(result.failures)) byStatus[`no answer (${name})`] = (byStatus[`no answer (${name})`] ?? 0) + count;
      });
      options.log(`fuzz: ${Math.min(offset + chunk, options.requests)}/${options.requests} forged requests, answers ${JSON.stringify(byStatus)}`);
    }
    if (acceptedKinds.length > 0) options.log(`fuzz: ACCEPTED forgeries, e.g. ${acceptedKinds.join('; ')}`);
    const alive = !crashed && (await fetch(`${receiver.url}/healthz`).then((response) => response.ok, () => false));
    const metrics = await fetch(`${receiver.url}/metrics`).then((response) => response.text(), () => '');
    const signalAttempts = metrics
      .split('\n')
      .filter((line) => line.startsWith('billflow_signal_duration_seconds_count'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    const { count: workflows } = await client.workflow.count(`TaskQueue = "${taskQueue}"`);
    const statuses = Object.entries(byStatus);
    const accepted = statuses.filter(([status]) => /^2\d\d$/.test(status)).reduce((sum, [, count]) => sum + count, 0);
    const serverErrors = statuses.filter(([status]) => /^5\d\d$/.test(status) && status !== '503').reduce((sum, [, count]) => sum + count, 0);
    const unanswered = statuses.filter(([status]) => status.startsWith('no answer')).reduce((sum, [, count]) => sum + count, 0);
    const signals = workflows + signalAttempts;
    return {
      requests: options.requests,
      byStatus,
      accepted,
      serverErrors,
      status503: byStatus['503'] ?? 0,
      unanswered,
      crashed: crashed || !alive,
      signals,
      kinds,
      passed: accepted === 0 && serverErrors === 0 && unanswered === 0 && !crashed && alive && signals === 0,
    };
  } finally {
    agent.destroy();
    await receiver.child.stop();
    await client.connection.close();
  }
}

export function describeFuzz(report: FuzzReport): string {
  return (
    `${report.requests} forged/fuzzed requests (${Object.keys(report.kinds).length} kinds, all providers): answers ${JSON.stringify(report.byStatus)}; ` +
    `${report.crashed ? 'CRASHED' : '0 crashes'}, ${report.serverErrors} 5xx other than 503, ${report.status503} 503, ${report.accepted} accepted, ${report.signals} signals`
  );
}
