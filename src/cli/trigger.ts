import { Argument, Command } from 'commander';
import type { Config } from '../config';
import type { BillingEvent } from '../core/events';
import { findProvider } from '../receiver/providers';
import { routeEvents } from '../routing';
import { webhookTemplates } from '../testing/webhooks';
import type { BuiltWebhook, SandboxControl, TriggerReferences } from '../testing/webhooks/types';

export interface TriggerOptions extends TriggerReferences {
  url?: string;
  secret?: string;
  sandboxUrl?: string;
  seed: boolean;
  dryRun?: boolean;
}

export interface TriggerResult {
  status?: number;
  body?: string;
  workflowIds: string[];
  /** Ids of the events as the receiver reads them (derived ones included). */
  eventIds: string[];
  /** The delivery as built and signed. */
  webhook: BuiltWebhook;
  url: string;
}

type Print = (line: string) => void;

const requestTimeoutMs = 15_000;
const sandboxProbeTimeoutMs = 1_000;

/** `billflow trigger <provider> <event>`; reads the config lazily, so `--help` works with any environment. */
export function triggerCommand(loadConfig: () => Config): Command {
  const providers = [...webhookTemplates.keys()];
  const eventList = [...webhookTemplates.values()].map((template) => wrap(`${template.provider}: ${template.events.join(', ')}`)).join('\n');
  return new Command('trigger')
    .description('Build a realistic webhook for a provider event, sign it as the provider would, and post it to a receiver')
    .addArgument(new Argument('<provider>', 'the provider to send as').choices(providers))
    .argument('<event>', "the provider's own event name, e.g. mandates.cancelled")
    .option('--customer <id>', 'customer id (made up when absent)')
    .option('--subscription <id>', 'subscription id (made up when the event needs one)')
    .option('--mandate <id>', 'mandate id (made up when the event needs one)')
    .option('--invoice <id>', 'invoice id (made up when the event needs one)')
    .option('--payment <id>', 'payment id (made up when the event needs one)')
    .option('--url <url>', 'receiver base URL (default: http://localhost:$PORT)')
    .option('--secret <secret>', "HMAC secret, or user:password for Basic-auth providers (default: the provider's configured one, else what `billflow dev` accepts)")
    .option('--sandbox-url <url>', 'provider sandbox to seed (default: http://127.0.0.1:$SANDBOX_PORT, the one `billflow dev` runs)')
    .option('--no-seed', 'do not seed the provider sandbox')
    .option('--dry-run', 'print the signed request instead of sending it')
    .addHelpText(
      'after',
      `\nEvents:\n${eventList}\n\nExamples:\n  billflow trigger gocardless mandates.cancelled\n  billflow trigger gocardless mandates.reinstated --mandate MD000123 --customer CU000123\n  billflow trigger stripe invoice.payment_failed --customer cus_123 --subscription sub_123\n  billflow trigger billforward Subscription.Cancelled --secret user:password\n  billflow trigger gocardless payments.failed --url https://billflow.example.com --secret "$GOCARDLESS_WEBHOOK_SECRET" --no-seed\n  billflow trigger recurly subscription.canceled --dry-run`,
    )
    .action(async (provider: string, event: string, options: TriggerOptions) => {
      const result = await trigger(provider, event, options, loadConfig(), (line) => process.stdout.write(`${line}\n`));
      if (result.status !== undefined && result.status >= 300) process.exitCode = 1;
    });
}

export async function trigger(providerName: string, event: string, options: TriggerOptions, config: Config, print: Print): Promise<TriggerResult> {
  const template = webhookTemplates.get(providerName);
  if (!template) throw new Error(`trigger does not know provider "${providerName}"; known: ${[...webhookTemplates.keys()].join(', ')}`);
  if (!template.events.includes(event)) {
    throw new Error(`${providerName} has no event "${event}" trigger can build; known: ${template.events.join(', ')}`);
  }
  const secret = options.secret ?? template.defaultSecret(config[template.provider]) ?? '';
  if (!secret && template.signing !== 'none') throw new Error(`no secret to sign ${providerName} webhooks with: pass --secret`);
  const references = template.complete(event, options);
  const webhook = template.build(event, references, secret, new Date());
  const url = webhookUrl(options.url ?? `http://localhost:${config.port}`, providerName, webhook);
  const events = parsedAsTheReceiverWould(providerName, webhook);
  const eventIds = events.map((parsed) => parsed.id);
  // The receiver's routing with the same settings: billflow's own workflows (a receiver given routes of yours signals those too).
  const workflowIds = [...new Set(events.flatMap((parsed) => routeEvents(parsed, { settings: config.workflows }).map((route) => route.workflowId)))];

  if (options.dryRun) {
    print(`POST ${url}`);
    for (const [name, value] of Object.entries(webhook.headers)) print(`${name}: ${value}`);
    print('');
    print(webhook.body);
    return { workflowIds, eventIds, webhook, url };
  }

  if (options.seed && template.seed) {
    const sandboxUrl = options.sandboxUrl ?? `http://127.0.0.1:${config.sandboxPort}`;
    const sandbox = await reachableSandbox(sandboxUrl);
    if (sandbox) {
      for (const line of await template.seed(event, references, sandbox)) print(`seeded sandbox: ${line}`);
    } else {
      print(`no provider sandbox at ${sandboxUrl}: nothing seeded (the worker asks the provider itself)`);
    }
  }

  print(`POST ${url}  ${providerName} ${event}, event ${eventIds.join(', ')}`);
  const response = await fetch(url, {
    method: 'POST',
    headers: webhook.headers,
    body: webhook.body,
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const body = await response.text();
  const statusText = response.statusText && response.statusText !== 'unknown' ? ` ${response.statusText}` : '';
  print(`${response.status}${statusText}${body ? `  ${body}` : ''}`);
  const requestId = response.headers.get('x-request-id');
  if (requestId) print(`request id: ${requestId}`);
  if (response.ok) {
    if (workflowIds.length === 0) print('workflow: none (billflow does not route this event to a workflow)');
    for (const id of workflowIds) print(`workflow: ${id}`);
    // Against `billflow dev`, the Web UI is local too: point at the workflow's executions there.
    if (workflowIds.length > 0 && ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname)) {
      const query = workflowIds.map((id) => `WorkflowId="${id}"`).join(' OR ');
      print(`Web UI: http://localhost:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(query)}`);
    }
  }
  return { status: response.status, body, workflowIds, eventIds, webhook, url };
}

/** Indented lines of at most 100 characters, broken after commas. */
function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = ' ';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > width) {
      lines.push(line);
      line = '    ';
    }
    line += ` ${word}`;
  }
  return [...lines, line].join('\n');
}

function webhookUrl(base: string, provider: string, webhook: BuiltWebhook): string {
  const url = new URL(`webhooks/${provider}`, base.endsWith('/') ? base : `${base}/`);
  for (const [name, value] of Object.entries(webhook.query ?? {})) url.searchParams.set(name, value);
  return url.toString();
}

/** The events the receiver reads from this delivery, with its own parser: their ids and workflows are what it reaches. */
function parsedAsTheReceiverWould(providerName: string, webhook: BuiltWebhook): BillingEvent[] {
  const provider = findProvider(providerName);
  if (!provider) return [];
  return provider.parse({ rawBody: Buffer.from(webhook.body), headers: webhook.headers, query: webhook.query ?? {}, ip: '127.0.0.1' });
}

/** The control routes of the sandbox at `baseUrl`, or undefined when nothing answers there. */
export async function reachableSandbox(baseUrl: string): Promise<SandboxControl | undefined> {
  const control = `${baseUrl.replace(/\/$/, '')}/_sandbox`;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const response = await fetch(`${control}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    if (!response.ok) throw new Error(`sandbox ${method} ${path}: ${response.status} ${await response.text()}`);
    return response;
  };
  try {
    const probe = await fetch(`${control}/requests?provider=none`, { signal: AbortSignal.timeout(sandboxProbeTimeoutMs) });
    if (!probe.ok) return undefined;
  } catch {
    return undefined;
  }
  return {
    get: async <T>(path: string) => (await (await call('GET', path)).json()) as T,
    post: async (path, body) => void (await call('POST', path, body)),
  };
}
