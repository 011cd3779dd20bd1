/**
 * `billflow/testing`: what your tests need to run billflow for real — a Temporal dev server, the
 * provider sandbox standing in for the providers' APIs, webhooks built and signed as each provider
 * sends them, and recorded histories to replay. Not for production code: none of it is in
 * billflow's production image.
 *
 * @module
 */
import { devWebhookSecret } from './dev-secrets';
import { reachableSandbox } from '../cli/trigger';
import type { ProviderName } from '../core/events';
import { getFreePort } from '../free-port';
import { findOrBuildTemporalCli } from '../temporal/cli-binary';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { webhookTemplates } from './webhooks';
import type { BuiltWebhook, TriggerReferences } from './webhooks/types';

export { sandboxProviderSettings, startProviderSandbox, type ProviderSandbox, type SandboxOptions } from './sandbox/server';
export { findOrBuildTemporalCli } from '../temporal/cli-binary';
export { isTemporalReachable, startDevServer, type DevServer, type DevServerOptions } from '../temporal/dev-server';
export { historyFromCliJson, readHistoryFile } from '../temporal/histories';
export { devWebhookSecret };
export { signWebhookBody, type SigningOptions } from './sign';
export type { BuiltWebhook, TriggerReferences };

/**
 * A Temporal dev server in memory on a free port (or `port`), with billflow's search attributes.
 * The `temporal` CLI is `TEMPORAL_CLI`, the one on the PATH or in billflow's cache, else built once.
 */
export async function startTemporalDevServer(options: { port?: number; log?: (line: string) => void } = {}): Promise<DevServer> {
  const cliPath = await findOrBuildTemporalCli({ configuredPath: process.env.TEMPORAL_CLI, log: options.log });
  return startDevServer({ cliPath, port: options.port ?? (await getFreePort()), log: options.log });
}

export interface TestWebhook extends BuiltWebhook {
  provider: ProviderName;
  /** The provider's own event name, e.g. `customer.subscription.updated`. */
  event: string;
  /** The ids it refers to: those given, the others made up in the provider's style. */
  references: TriggerReferences;
}

/**
 * `event` as `provider` delivers it — a realistic body, the provider's headers — signed with
 * `secret` the provider's way (an HMAC key, or `user:password` for HTTP Basic; CCBill signs
 * nothing), as `billflow trigger` sends it. Without `secret`: what `billflow dev` accepts.
 * `webhookEvents(provider)` lists the events; `signWebhookBody` signs a body of your own.
 */
export function buildWebhook(
  provider: ProviderName,
  event: string,
  options: { secret?: string; references?: TriggerReferences; now?: Date } = {},
): TestWebhook {
  const template = templateOf(provider);
  if (!template.events.includes(event)) throw new Error(`no ${provider} event "${event}" to build; known: ${template.events.join(', ')}`);
  const secret = options.secret ?? (template.signing === 'basic' ? `billflow:${devWebhookSecret}` : devWebhookSecret);
  const references = template.complete(event, options.references ?? {});
  return { provider, event, references, ...template.build(event, references, secret, options.now ?? new Date()) };
}

/** The events `buildWebhook` builds for `provider`. */
export function webhookEvents(provider: ProviderName): readonly string[] {
  return templateOf(provider).events;
}

/** Variables that make a receiver accept `provider`'s deliveries signed with `secret`, as `loadConfig` reads them. */
export function receiverEnvironment(provider: ProviderName, secret: string): Record<string, string> {
  return templateOf(provider).receiverEnvironment(secret);
}

/** Posts a built webhook to a receiver (`http://host:port`, or with the path your router is mounted under). */
export function sendWebhook(receiverUrl: string, webhook: TestWebhook): Promise<Response> {
  const url = new URL(`webhooks/${webhook.provider}`, receiverUrl.endsWith('/') ? receiverUrl : `${receiverUrl}/`);
  for (const [name, value] of Object.entries(webhook.query ?? {})) url.searchParams.set(name, value);
  return fetch(url, { method: 'POST', headers: webhook.headers, body: webhook.body });
}

/**
 * Puts into the provider sandbox at `sandboxUrl` what billflow's workflow looks up for this
 * webhook (e.g. the subscription, cancelled, for a cancellation); returns one line per record.
 */
export async function seedSandbox(sandboxUrl: string, webhook: TestWebhook): Promise<string[]> {
  const template = templateOf(webhook.provider);
  const sandbox = await reachableSandbox(sandboxUrl);
  if (!sandbox) throw new Error(`no provider sandbox answers at ${sandboxUrl}`);
  return template.seed ? template.seed(webhook.event, webhook.references, sandbox) : [];
}

function templateOf(provider: ProviderName) {
  const template = webhookTemplates.get(provider);
  if (!template) throw new Error(`no webhooks for provider "${provider}"; known: ${[...webhookTemplates.keys()].join(', ')}`);
  return template;
}
