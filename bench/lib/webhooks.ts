import type { IncomingHttpHeaders } from 'node:http';
import { webhookTemplates } from '../../src/testing/webhooks';
import type { TriggerReferences, WebhookTemplate } from '../../src/testing/webhooks/types';
import type { BillingEvent, ProviderName } from '../../src/core/events';
import { findProvider } from '../../src/receiver/providers';
import { routeEvent, type WorkflowRoute } from '../../src/routing';
import { signWebhookBody } from '../../src/testing/sign';

/** What the benchmarks sign with, and what the receivers they start are configured to accept. */
export const benchSecrets: Record<ProviderName, string> = {
  gocardless: 'bench-gocardless-webhook-secret',
  stripe: 'whsec_bench_stripe_webhook_secret',
  recurly: 'bench-recurly-webhook-secret',
  billforward: 'bench:bench-billforward-password',
  ccbill: '',
};

export const allProviders: readonly ProviderName[] = ['gocardless', 'stripe', 'recurly', 'ccbill', 'billforward'];

function template(provider: ProviderName): WebhookTemplate {
  const found = webhookTemplates.get(provider);
  if (!found) throw new Error(`no webhook template for ${provider}`);
  return found;
}

/** Receiver variables accepting every provider's deliveries as the benchmarks sign them (CCBill: from loopback). */
export function receiverEnvironment(): Record<string, string> {
  return Object.assign({}, ...allProviders.map((provider) => template(provider).receiverEnvironment(benchSecrets[provider])));
}

/** One delivery, signed, with what billflow's own parser and router make of it. */
export interface PreparedWebhook {
  provider: ProviderName;
  eventName: string;
  /** `/webhooks/<provider>` plus the query some providers use. */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  events: BillingEvent[];
  /** The signal-with-start calls the receiver makes for it (what the raw client does too). */
  deliveries: { event: BillingEvent; route: WorkflowRoute }[];
}

export function prepareWebhook(provider: ProviderName, eventName: string, references: TriggerReferences, now = new Date()): PreparedWebhook {
  const built = template(provider).build(eventName, references, benchSecrets[provider], now);
  const body = Buffer.from(built.body);
  const query = new URLSearchParams(built.query ?? {}).toString();
  const events = parseAsReceiver(provider, body, built.headers, built.query ?? {});
  const deliveries = events.flatMap((event) => {
    const route = routeEvent(event);
    return route ? [{ event, route }] : [];
  });
  return { provider, eventName, path: `/webhooks/${provider}${query ? `?${query}` : ''}`, headers: built.headers, body, events, deliveries };
}

export function parseAsReceiver(provider: ProviderName, body: Buffer, headers: IncomingHttpHeaders, query: Record<string, string>): BillingEvent[] {
  const registered = findProvider(provider);
  if (!registered) throw new Error(`billflow has no provider ${provider}`);
  return registered.parse({ rawBody: body, headers, query, ip: '127.0.0.1' });
}

/** References of one entity (customer, subscription or mandate, …) as the provider's ids look, the same for every event about it. */
export function newEntity(provider: ProviderName, eventNames: readonly string[]): TriggerReferences {
  return eventNames.reduce<TriggerReferences>((references, name) => template(provider).complete(name, references), {});
}

export function completeReferences(provider: ProviderName, eventName: string, entity: TriggerReferences): TriggerReferences {
  return template(provider).complete(eventName, entity);
}

export function eventNames(provider: ProviderName): readonly string[] {
  return template(provider).events;
}

/**
 * The provider's events billflow routes to a workflow today (each reaching exactly one), found by
 * building one of each and routing it: providers whose routing has not landed yet drop out.
 */
export function routedEventNames(provider: ProviderName, wanted?: readonly string[]): string[] {
  return (wanted ?? eventNames(provider)).filter((name) => {
    try {
      const webhook = prepareWebhook(provider, name, newEntity(provider, [name]));
      return webhook.events.length === 1 && webhook.deliveries.length === 1;
    } catch {
      return false;
    }
  });
}

/** A deterministic pseudo-random sequence (mulberry32), so a run can be repeated with the same mix. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

export interface MixOptions {
  webhooks: number;
  /** Entities (subscriptions, mandates) per provider the webhooks are spread over. */
  entities: number;
  providers: readonly ProviderName[];
  /** Per provider, the events to use; all it routes when absent. */
  events?: Partial<Record<ProviderName, readonly string[]>>;
  random: () => number;
}

/**
 * Signed webhooks of several providers, round-robin, each about one of `entities` entities of its
 * provider picked at random, each carrying one event that billflow routes to a workflow.
 */
export function webhookMix(options: MixOptions): { webhooks: PreparedWebhook[]; providers: ProviderName[]; skipped: ProviderName[] } {
  const usable = options.providers
    .map((provider) => ({ provider, names: routedEventNames(provider, options.events?.[provider]) }))
    .filter(({ names }) => names.length > 0);
  const skipped = options.providers.filter((provider) => !usable.some((entry) => entry.provider === provider));
  if (usable.length === 0) throw new Error('none of the providers has an event billflow routes');
  const pools = new Map(usable.map(({ provider, names }) => [provider, Array.from({ length: options.entities }, () => newEntity(provider, names))]));
  const now = new Date();
  const webhooks: PreparedWebhook[] = [];
  for (let i = 0; i < options.webhooks; i += 1) {
    const { provider, names } = usable[i % usable.length] as (typeof usable)[number];
    const pool = pools.get(provider) as TriggerReferences[];
    const entity = pool[Math.floor(options.random() * pool.length)] as TriggerReferences;
    const name = names[Math.floor(options.random() * names.length)] as string;
    webhooks.push(prepareWebhook(provider, name, completeReferences(provider, name, entity), now));
  }
  return { webhooks, providers: usable.map(({ provider }) => provider), skipped };
}

/**
 * One GoCardless delivery carrying the events of several single-event ones, as GoCardless batches
 * them (up to 250 a request), signed like theirs.
 */
export function gocardlessBatch(singles: readonly PreparedWebhook[]): PreparedWebhook {
  const events = singles.flatMap((single) => (JSON.parse(single.body.toString('utf8')) as { events: unknown[] }).events);
  const body = Buffer.from(JSON.stringify({ events, meta: { webhook_id: `WB${Date.now().toString(36).toUpperCase()}` } }));
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'gocardless-webhook-service/1.1',
    ...signWebhookBody('gocardless', body, benchSecrets.gocardless),
  };
  const parsed = parseAsReceiver('gocardless', body, headers, {});
  const deliveries = parsed.flatMap((event) => {
    const route = routeEvent(event);
    return route ? [{ event, route }] : [];
  });
  return { provider: 'gocardless', eventName: 'batch', path: '/webhooks/gocardless', headers, body, events: parsed, deliveries };
}
