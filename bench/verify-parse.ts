// Verify + parse: billflow's verification and parsing of a delivery vs the official SDK's on the very
// same bytes (Stripe's constructEvent, gocardless-nodejs's parse); throughput only where no SDK verifies.
import { parse as gocardlessParse } from 'gocardless-nodejs';
import Stripe from 'stripe';
import { Bench, type Task } from 'tinybench';
import { loadConfig } from '../src/config';
import type { ProviderName } from '../src/core/events';
import { findProvider } from '../src/receiver/providers';
import type { WebhookRequest } from '../src/providers/types';
import { median } from './lib/load';
import { formatRatio, progress, readOptions, round, runAlone, verdict, type BenchResult, type Row } from './lib/report';
import { allProviders, benchSecrets, completeReferences, eventNames, newEntity, prepareWebhook, receiverEnvironment, type PreparedWebhook } from './lib/webhooks';

export const verifyParseOptions = {
  ms: { quick: 400, full: 2000, help: 'measuring time per task and round, ms' },
  rounds: { quick: 3, full: 5, help: 'rounds, billflow and SDK alternating; the median round counts' },
  bodies: { quick: 20, full: 50, help: 'distinct signed deliveries cycled through per provider' },
} as const;

type VerifyParseOptions = ReturnType<typeof readOptions<keyof typeof verifyParseOptions>>;

const target = 1.0;
const stripeSdk = new Stripe('sk_test_unused');

/** The official SDKs' verify + parse, where one exists. */
const sdkParsers: Partial<Record<ProviderName, { name: string; parse(webhook: PreparedWebhook): unknown }>> = {
  gocardless: {
    name: 'gocardless-nodejs parse',
    parse: (webhook) => gocardlessParse(webhook.body, benchSecrets.gocardless, webhook.headers['webhook-signature'] ?? ''),
  },
  stripe: {
    name: 'stripe.webhooks.constructEvent',
    parse: (webhook) => stripeSdk.webhooks.constructEvent(webhook.body, webhook.headers['stripe-signature'] ?? '', benchSecrets.stripe),
  },
};

function deliveries(provider: ProviderName, count: number): PreparedWebhook[] {
  const names = eventNames(provider);
  const entity = newEntity(provider, names);
  return Array.from({ length: count }, (_, index) => {
    const name = names[index % names.length] as string;
    return prepareWebhook(provider, name, completeReferences(provider, name, entity));
  });
}

/** Median time of one call, ns, over one tinybench task. */
function medianNs(task: Task | undefined): number {
  const result = task?.result;
  if (!result || !('latency' in result)) throw new Error(`benchmark task ${task?.name} did not complete`);
  return result.latency.p50 * 1e6;
}

export async function verifyParse(options: VerifyParseOptions): Promise<BenchResult> {
  const config = loadConfig(receiverEnvironment());
  const rows: Row[] = [];
  const lines: string[] = [];
  const ratios: string[] = [];
  let worst: number | undefined;
  for (const provider of allProviders) {
    const registered = findProvider(provider);
    if (!registered) continue;
    const webhooks = deliveries(provider, options.bodies);
    const requests: WebhookRequest[] = webhooks.map((webhook) => ({
      rawBody: webhook.body,
      headers: webhook.headers,
      query: Object.fromEntries(new URL(webhook.path, 'http://x').searchParams),
      ip: '127.0.0.1',
    }));
    let next = 0;
    const billflow = () => {
      const request = requests[next++ % requests.length] as WebhookRequest;
      registered.verify(request, config);
      return registered.parse(request);
    };
    const sdk = sdkParsers[provider];
    let sdkNext = 0;
    const official = sdk && (() => sdk.parse(webhooks[sdkNext++ % webhooks.length] as PreparedWebhook));
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let roundIndex = 0; roundIndex < options.rounds; roundIndex += 1) {
      const bench = new Bench({ time: options.ms, warmupTime: Math.min(200, options.ms), throws: true });
      const order = roundIndex % 2 === 0 ? ['billflow', 'sdk'] : ['sdk', 'billflow'];
      for (const name of order) {
        if (name === 'billflow') bench.add('billflow', billflow);
        else if (official) bench.add('sdk', official);
      }
      await bench.run();
      ours.push(medianNs(bench.getTask('billflow')));
      if (official) theirs.push(medianNs(bench.getTask('sdk')));
    }
    const oursNs = median(ours);
    const size = Math.round(median(webhooks.map((webhook) => webhook.body.length)));
    if (sdk) {
      const theirsNs = median(theirs);
      const ratio = oursNs / theirsNs;
      worst = Math.max(worst ?? 0, ratio);
      const figure = `billflow ${round(oursNs / 1000, 1)} µs vs ${sdk.name} ${round(theirsNs / 1000, 1)} µs per delivery (${round(1e9 / oursNs)}/s vs ${round(1e9 / theirsNs)}/s, ~${size} B bodies)`;
      lines.push(`${provider}: ${figure} → ${formatRatio(ratio)}`);
      ratios.push(`${provider} ${formatRatio(ratio)}`);
      rows.push({ what: `Verify + parse, ${provider}`, command: `npm run bench -- verify-parse${options.full ? ' --full' : ''}`, figure, ratio, target: `≤ ${target.toFixed(1)}`, met: ratio <= target });
    } else {
      const figure = `billflow ${round(oursNs / 1000, 1)} µs per delivery (${round(1e9 / oursNs)}/s, ~${size} B bodies); no official SDK verifier`;
      lines.push(`${provider}: ${figure}`);
      ratios.push(`${provider} ${round(1e9 / oursNs)}/s`);
      rows.push({ what: `Verify + parse, ${provider}`, command: `npm run bench -- verify-parse${options.full ? ' --full' : ''}`, figure, target: 'throughput only' });
    }
    progress(lines.at(-1) as string);
  }
  const met = worst !== undefined && worst <= target;
  return {
    name: 'verify-parse',
    summary: `verify+parse: billflow/SDK time per delivery ${ratios.join(', ')} → worst ratio ${formatRatio(worst)} (target ≤ ${target.toFixed(1)}: ${verdict(met)})`,
    rows,
  };
}

runAlone(module, () => verifyParse(readOptions(process.argv.slice(2), verifyParseOptions)));
