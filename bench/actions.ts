// Temporal actions per event: the common business paths driven end to end (signed webhooks into the
// receiver, the worker on Temporal, the sandbox as the provider), then every history of every
// workflow they touched read and its billable actions counted as Temporal Cloud counts them.
import type { ProviderName } from '../src/core/events';
import { reachableSandbox } from '../src/cli/trigger';
import { signWebhookBody } from '../src/testing/sign';
import { webhookTemplates } from '../src/testing/webhooks';
import type { SandboxControl, TriggerReferences } from '../src/testing/webhooks/types';
import { actionKinds, actionsOfWorkflow, addActions, noActions, totalActions, type Actions } from './lib/actions';
import { keepAliveAgent, postRaw } from './lib/load';
import { delay } from './lib/processes';
import { onEachServer, progress, readOptions, round, runAlone, type BenchResult, type Row } from './lib/report';
import { startBenchStack, type BenchStack } from './lib/stack';
import type { BenchServer } from './lib/temporal';
import { benchSecrets, parseAsReceiver } from './lib/webhooks';
import { workerQuiet } from './lib/workflows';

export const actionsOptions = {
  // Longer than the payment resolver's idle end (5 s), so that its whole life is counted.
  quiet: { quick: 7000, full: 7000, help: 'ms without a completed task after each step before histories are read' },
} as const;

type ActionsOptions = ReturnType<typeof readOptions<keyof typeof actionsOptions>>;

interface Sent {
  /** Events the receiver took in (what "per event" divides by). */
  events: number;
  workflowIds: Set<string>;
}

interface Path {
  name: string;
  run(send: Sender): Promise<void>;
}

interface SendOptions {
  /** Changes the event before it is signed. */
  edit?: (body: Record<string, unknown>) => void;
  /** Waits this long (ms) afterwards instead of until the worker is quiet. */
  thenWaitMs?: number;
}

type Sender = (provider: ProviderName, event: string, references: TriggerReferences, options?: SendOptions) => Promise<TriggerReferences>;

/** The dunning schedule the worker runs with: a retry a few seconds after each failure rather than days. */
const retryDelay = '4s';

const paths: Path[] = [
  {
    name: 'GoCardless mandate cancelled (confirmed, account suspended)',
    async run(send) {
      await send('gocardless', 'mandates.cancelled', {});
    },
  },
  {
    name: 'GoCardless payment failed → 2 retries → paid',
    async run(send) {
      const references = await send('gocardless', 'payments.failed', {});
      // The first retry fails too (the sandbox says so, GoCardless tells), the second is paid.
      await send('gocardless', 'payments.failed', references);
      await send('gocardless', 'payments.confirmed', references);
    },
  },
  {
    name: `GoCardless payment failed, 2 renewals while the retry waits (${retryDelay}) → retry → paid`,
    async run(send) {
      const references = await send('gocardless', 'payments.failed', {}, { thenWaitMs: 1500 });
      await send('gocardless', 'subscriptions.payment_created', { ...references, payment: undefined }, { thenWaitMs: 200 });
      await send('gocardless', 'subscriptions.payment_created', { ...references, payment: undefined });
      await send('gocardless', 'payments.confirmed', references);
    },
  },
  {
    name: 'GoCardless renewal (subscriptions.payment_created, usage reset)',
    async run(send) {
      await send('gocardless', 'subscriptions.payment_created', {});
    },
  },
  {
    name: 'Stripe cancellation at period end (access ended at the period end)',
    async run(send) {
      const periodEnd = Math.ceil(Date.now() / 1000) + 2;
      await send('stripe', 'customer.subscription.updated', {}, {
        edit: (body) => {
          const object = (body.data as { object: Record<string, unknown> }).object;
          object.cancel_at = periodEnd;
          for (const item of (object.items as { data: Record<string, unknown>[] }).data) item.current_period_end = periodEnd;
        },
      });
    },
  },
  {
    name: 'Stripe customer deleted, told twice (account closed once)',
    async run(send) {
      const references = await send('stripe', 'customer.deleted', {});
      await send('stripe', 'customer.deleted', references);
    },
  },
];

function sender(stack: BenchStack, control: SandboxControl, sent: Sent, quietMs: number): Sender {
  const agent = keepAliveAgent(1);
  return async (provider, event, given, { edit, thenWaitMs } = {}) => {
    const template = webhookTemplates.get(provider);
    if (!template) throw new Error(`no webhook template for ${provider}`);
    const references = template.complete(event, given);
    await template.seed?.(event, references, control);
    const built = template.build(event, references, benchSecrets[provider], new Date());
    let body = built.body;
    let headers = built.headers;
    if (edit) {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      edit(parsed);
      body = JSON.stringify(parsed);
      headers = { ...headers, ...signWebhookBody(provider, body, benchSecrets[provider]) };
    }
    const query = new URLSearchParams(built.query ?? {}).toString();
    const answer = await postRaw(agent, `${stack.receiver.url}/webhooks/${provider}${query ? `?${query}` : ''}`, headers, Buffer.from(body));
    if (answer.status < 200 || answer.status >= 300) throw new Error(`${provider} ${event}: receiver answered ${answer.status} ${answer.body}`);
    const events = parseAsReceiver(provider, Buffer.from(body), headers, built.query ?? {});
    sent.events += events.length;
    for (const id of Object.values(references)) if (id) sent.workflowIds.add(id);
    if (thenWaitMs === undefined) await workerQuiet(stack.worker?.metricsUrl as string, quietMs, 120_000);
    else await delay(thenWaitMs);
    return references;
  };
}

/** Every workflow whose id names one of the path's references (entity, resolver, account workflows). */
async function touchedWorkflows(stack: BenchStack, references: Set<string>): Promise<string[]> {
  const ids = new Set<string>();
  for await (const execution of stack.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` })) {
    if ([...references].some((reference) => execution.workflowId.split(':').includes(reference))) ids.add(execution.workflowId);
  }
  return [...ids].sort();
}

function describeActions(actions: Actions): string {
  return actionKinds.map((kind) => `${actions[kind]} ${kind}`).join(', ');
}

export function actions(options: ActionsOptions): Promise<BenchResult> {
  return onEachServer(options.servers, (server) => actionsOn(server, options));
}

async function actionsOn(server: BenchServer, options: ActionsOptions): Promise<BenchResult> {
  // Dunning retries seconds apart rather than days: the same commands, in a minute or two.
  const stack = await startBenchStack({ name: 'bench-actions', logLevel: options.logLevel, worker: true, server, extra: { BILLFLOW_DUNNING_SCHEDULE: [retryDelay, retryDelay, retryDelay].join(',') } });
  const rows: Row[] = [];
  const table: string[] = ['| path | events | workflows (runs) | starts | continue-as-new | signals | activities | local-activity tasks | timers | upserts | actions | per event |', '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  try {
    const control = await reachableSandbox(stack.sandbox.url);
    if (!control) throw new Error('the sandbox does not answer its control routes');
    let allEvents = 0;
    const all = noActions();
    for (const path of paths) {
      const sent: Sent = { events: 0, workflowIds: new Set() };
      await path.run(sender(stack, control, sent, options.quiet));
      const total = noActions();
      const workflows: string[] = [];
      for (const workflowId of await touchedWorkflows(stack, sent.workflowIds)) {
        const counted = await actionsOfWorkflow(stack.client, workflowId);
        addActions(total, counted.actions);
        workflows.push(`${counted.workflowType.replace('Workflow', '')} (${counted.runs})`);
      }
      allEvents += sent.events;
      addActions(all, total);
      const perEvent = totalActions(total) / Math.max(1, sent.events);
      progress(`actions: ${path.name}: ${sent.events} events → ${totalActions(total)} actions (${describeActions(total)}), ${round(perEvent, 1)} per event`);
      table.push(`| ${path.name} | ${sent.events} | ${workflows.join(', ')} | ${actionKinds.map((kind) => total[kind]).join(' | ')} | ${totalActions(total)} | ${round(perEvent, 1)} |`);
      rows.push({ what: `Temporal actions: ${path.name}`, command: 'npm run bench -- actions', figure: `${totalActions(total)} actions for ${sent.events} events, ${round(perEvent, 1)} per event (${describeActions(total)})`, target: 'only what the business needs' });
    }
    const perEvent = totalActions(all) / Math.max(1, allEvents);
    process.stderr.write(`\nTemporal actions per path (${server} server):\n${table.join('\n')}\n\n`);
    return { name: 'actions', summary: `actions: ${allEvents} events on ${paths.length} paths → ${totalActions(all)} Temporal actions, ${round(perEvent, 2)} per event (${describeActions(all)})`, rows };
  } finally {
    await stack.stop();
  }
}

runAlone(module, () => actions(readOptions(process.argv.slice(2), actionsOptions)));
