// Ingest: signed webhooks posted to billflow's receiver vs the raw Temporal client doing the same
// signal-with-start calls, at the same concurrency, against one dev server, in alternating rounds.
import type { Client } from '@temporalio/client';
import type { ProviderName } from '../src/core/events';
import { loadConfig } from '../src/config';
import { deliverEvents } from '../src/temporal/deliver';
import { cpuMeter, describeCpu } from './lib/cpu';
import { closedLoop, keepAliveAgent, median, perSecond, percentile, postWebhook, type LoadResult } from './lib/load';
import { formatRatio, onEachServer, progress, readOptions, round, runAlone, verdict, type BenchResult } from './lib/report';
import { startBenchStack } from './lib/stack';
import type { BenchServer } from './lib/temporal';
import { allProviders, seededRandom, webhookMix, type PreparedWebhook } from './lib/webhooks';

export const ingestOptions = {
  webhooks: { quick: 1500, full: 5000, help: 'webhooks per path and round' },
  concurrency: { quick: 32, full: 64, help: 'calls in flight' },
  entities: { quick: 300, full: 2000, help: 'entities (mandates, subscriptions) per provider the webhooks are spread over' },
  // Many short rounds rather than a few long ones: the dev server's own speed drifts by a third over
  // a minute, and finely interleaved rounds spread that drift evenly over both paths.
  rounds: { quick: 2, full: 6, help: 'rounds; each runs the raw client and the receiver once, in alternating order' },
  seed: { quick: 7, full: 7, help: 'seed of the mix' },
} as const;

type IngestOptions = ReturnType<typeof readOptions<keyof typeof ingestOptions>>;

const target = 0.95;
const phaseTimeLimitMs = 180_000;

/**
 * The receiver's own Temporal step (`deliverEvents`: one signal-with-start per routed event, under
 * the same deadline, grouped by workflow as the receiver does), called directly: what the receiver
 * adds on top of it — HTTP, raw body, verification, parsing, routing, the answer — is what the
 * ratio measures.
 */
async function signalDirectly(client: Client, options: { taskQueue: string; deadlineMs: number }, webhook: PreparedWebhook): Promise<true> {
  await deliverEvents(client, webhook.deliveries, options);
  return true;
}

function describeLoad(name: string, result: LoadResult): string {
  const failures = result.failed ? `, ${result.failed} failed ${JSON.stringify(result.failures)}` : '';
  return `${name}: ${round(perSecond(result.ok, result.elapsedMs))} accepted/s, p50 ${round(median(result.latencies), 1)} ms, p99 ${round(percentile(result.latencies, 99), 1)} ms${failures}`;
}

function merge(results: LoadResult[]): LoadResult {
  return {
    ok: results.reduce((sum, result) => sum + result.ok, 0),
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    failures: Object.assign({}, ...results.map((result) => result.failures)),
    latencies: results.flatMap((result) => result.latencies),
    elapsedMs: results.reduce((sum, result) => sum + result.elapsedMs, 0),
    startedAt: Math.min(...results.map((result) => result.startedAt)),
    endedAt: Math.max(...results.map((result) => result.endedAt)),
    truncated: results.some((result) => result.truncated),
  };
}

export function ingest(options: IngestOptions, providers: readonly ProviderName[] = allProviders): Promise<BenchResult> {
  return onEachServer(options.servers, (server) => ingestOn(server, options, providers));
}

async function ingestOn(server: BenchServer, options: IngestOptions, providers: readonly ProviderName[]): Promise<BenchResult> {
  const stack = await startBenchStack({ name: 'bench-ingest', logLevel: options.logLevel, profile: options.cpuProf ? 'receiver' : undefined, server });
  const { temporal, taskQueue, env, receiver, client, profileDir } = stack;
  const agent = keepAliveAgent(options.concurrency);
  const random = seededRandom(options.seed);
  const mix = (webhooks: number) => webhookMix({ webhooks, entities: options.entities, providers, random });
  const viaReceiver = (webhooks: PreparedWebhook[]) =>
    closedLoop(webhooks, options.concurrency, async (webhook) => {
      const answer = await postWebhook(agent, receiver.url, webhook);
      return answer.status >= 200 && answer.status < 300 ? true : String(answer.status);
    }, phaseTimeLimitMs);
  // The receiver's own settings (its deadline included), read as the receiver reads them.
  const direct = { taskQueue, deadlineMs: loadConfig(env).receiver.signalDeadlineMs };
  const viaClient = (webhooks: PreparedWebhook[]) => closedLoop(webhooks, options.concurrency, (webhook) => signalDirectly(client, direct, webhook), phaseTimeLimitMs);
  const pids = { receiver: receiver.child.process.pid, temporal: temporal.process.pid };

  try {
    const first = mix(1);
    progress(`ingest on the ${server} server: providers ${first.providers.join(', ')}${first.skipped.length ? ` (not routed yet: ${first.skipped.join(', ')})` : ''}; ${options.webhooks} webhooks × ${options.rounds} rounds per path, concurrency ${options.concurrency}`);
    progress('ingest: warm-up');
    await viaClient(mix(200).webhooks);
    await viaReceiver(mix(200).webhooks);

    const raw: LoadResult[] = [];
    const received: LoadResult[] = [];
    const cpu: Record<'raw' | 'receiver', Record<string, number>[]> = { raw: [], receiver: [] };
    for (let roundIndex = 0; roundIndex < options.rounds; roundIndex += 1) {
      const order = roundIndex % 2 === 0 ? (['raw', 'receiver'] as const) : (['receiver', 'raw'] as const);
      for (const path of order) {
        const webhooks = mix(options.webhooks).webhooks;
        const meter = cpuMeter(pids);
        const result = path === 'raw' ? await viaClient(webhooks) : await viaReceiver(webhooks);
        cpu[path].push(meter.stop());
        (path === 'raw' ? raw : received).push(result);
        progress(`round ${roundIndex + 1}: ${describeLoad(path === 'raw' ? 'raw client' : 'receiver', result)} (cpu: ${describeCpu(cpu[path].at(-1) ?? {})})`);
      }
    }
    const rawAll = merge(raw);
    const receiverAll = merge(received);
    const rawRate = perSecond(rawAll.ok, rawAll.elapsedMs);
    const receiverRate = perSecond(receiverAll.ok, receiverAll.elapsedMs);
    const ratio = receiverRate / rawRate;
    const met = ratio >= target && receiverAll.failed === 0;
    const receiverCpuPerWebhook = (cpu.receiver.reduce((sum, used) => sum + (used.receiver ?? 0), 0) * 1000) / Math.max(1, receiverAll.ok);
    progress(`receiver process CPU: ${round(receiverCpuPerWebhook, 2)} ms per webhook`);
    if (options.cpuProf) progress(`receiver CPU profiles in ${profileDir} (kept)`);
    const figure = `receiver ${round(receiverRate)}/s (p50 ${round(median(receiverAll.latencies), 1)} ms, p99 ${round(percentile(receiverAll.latencies, 99), 1)} ms) vs raw client ${round(rawRate)}/s (p50 ${round(median(rawAll.latencies), 1)} ms, p99 ${round(percentile(rawAll.latencies, 99), 1)} ms)`;
    const logged = options.logLevel === 'info' ? '' : `, receiver LOG_LEVEL=${options.logLevel}`;
    const summary = `ingest: ${figure}, ${options.concurrency} in flight, ${first.providers.length} providers${logged} → ratio ${formatRatio(ratio)} (target ≥ ${target}: ${verdict(met)})${receiverAll.failed ? `; ${receiverAll.failed} not accepted ${JSON.stringify(receiverAll.failures)}` : ''}`;
    return {
      name: 'ingest',
      summary,
      rows: [
        {
          what: `Ingest: signed webhooks (${first.providers.join(', ')}) → receiver vs raw client signal-with-start, ${options.concurrency} in flight`,
          command: `npm run bench -- ingest${options.full ? ' --full' : ''}${logged ? ` --log-level ${options.logLevel}` : ''}`,
          figure,
          ratio,
          target: `≥ ${target}`,
          met,
        },
      ],
    };
  } finally {
    agent.destroy();
    await stack.stop();
  }
}

runAlone(module, () => ingest(readOptions(process.argv.slice(2), ingestOptions)));
