// Scale: N live entity workflows on one Temporal with the worker's memory, and one entity receiving M
// events across continue-as-new without a failed workflow task.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ProviderName } from '../src/core/events';
import { keepAliveAgent, perSecond } from './lib/load';
import { describeSender, sendLikeProvider } from './lib/sender';
import { formatRatio, megabytes, onEachServer, progress, readOptions, round, runAlone, verdict, type BenchResult, type Row } from './lib/report';
import { startBenchStack, type WorkerChild } from './lib/stack';
import type { BenchServer } from './lib/temporal';
import { completeReferences, gocardlessBatch, newEntity, prepareWebhook, routedEventNames, type PreparedWebhook } from './lib/webhooks';
import { chainFacts, mapLimit, queryState, workerQuiet } from './lib/workflows';

export const scaleOptions = {
  workflows: { quick: 500, full: 10_000, help: 'live entity workflows' },
  events: { quick: 3000, full: 20_000, help: 'events sent to one entity' },
  concurrency: { quick: 32, full: 32, help: 'webhooks in flight' },
  batch: { quick: 25, full: 50, help: 'GoCardless events per delivery when starting the workflows' },
  sample: { quick: 100, full: 300, help: 'workflows whose state is queried to check they applied their event' },
} as const;

type ScaleOptions = ReturnType<typeof readOptions<keyof typeof scaleOptions>>;

async function liveWorkflows(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`);
  return count;
}

/** N mandates, each started by a `mandates.active` event (recorded, no provider call), in GoCardless batches. */
async function manyWorkflows(options: ScaleOptions, receiverUrl: string, client: Client, taskQueue: string, worker: WorkerChild): Promise<{ rows: Row[]; line: string }> {
  const idle = await worker.memory();
  const singles = Array.from({ length: options.workflows }, () => prepareWebhook('gocardless', 'mandates.active', newEntity('gocardless', ['mandates.active'])));
  const batches: PreparedWebhook[] = [];
  for (let i = 0; i < singles.length; i += options.batch) batches.push(gocardlessBatch(singles.slice(i, i + options.batch)));
  const agent = keepAliveAgent(options.concurrency);
  const started = Date.now();
  // Sent as GoCardless would: a batch answered 503 comes again later.
  const { stats } = await sendLikeProvider(batches, {
    baseUrl: receiverUrl,
    agent,
    concurrency: Math.min(options.concurrency, 8),
    initialBackoffMs: 500,
    maxBackoffMs: 5000,
    maxAttempts: 20,
    timeLimitMs: 900_000,
    requestTimeoutMs: 60_000,
  });
  agent.destroy();
  const sentMs = Date.now() - started;
  progress(`scale: ${describeSender(stats)} in ${round(sentMs / 1000, 1)} s`);
  const quiet = await workerQuiet(worker.metricsUrl as string, 3000, options.full ? 1_200_000 : 300_000);
  const elapsed = Date.now() - started;
  // Visibility (what count reads) trails the executions by a moment.
  let live = await liveWorkflows(client, taskQueue);
  for (let tries = 0; live < options.workflows && tries < 30; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    live = await liveWorkflows(client, taskQueue);
  }
  const memory = await worker.memory();
  const step = Math.max(1, Math.floor(singles.length / options.sample));
  const sample = singles.filter((_, index) => index % step === 0).slice(0, options.sample);
  const states = await mapLimit(sample, 8, async (single) => queryState(client, 'mandateWorkflow', single.deliveries[0]?.route.workflowId as string));
  const sampleApplied = states.filter((state) => state.eventsApplied === 1).length;
  const ratio = live / options.workflows;
  const met = live === options.workflows && sampleApplied === sample.length && stats.gaveUp === 0;
  const perWorkflowKb = ((memory.rss - idle.rss) / Math.max(1, live)) / 1024;
  progress(
    `scale: ${live}/${options.workflows} live after ${round(elapsed / 1000, 1)} s${quiet ? '' : ' (worker still busy)'} (${round(perSecond(options.workflows, sentMs))} started/s); ` +
      `${sampleApplied}/${sample.length} sampled applied their event; worker RSS ${megabytes(idle.rss)} idle → ${megabytes(memory.rss)}, heap ${megabytes(idle.heapUsed)} → ${megabytes(memory.heapUsed)}`,
  );
  const figure = `${live}/${options.workflows} live mandate workflows; worker RSS ${megabytes(memory.rss)} (${megabytes(idle.rss)} idle, +${round(perWorkflowKb, 1)} KB per workflow), heap ${megabytes(memory.heapUsed)} (${megabytes(idle.heapUsed)} idle)`;
  return {
    line: `${live}/${options.workflows} workflows live (${formatRatio(ratio)}), worker RSS ${megabytes(memory.rss)}, heap ${megabytes(memory.heapUsed)}`,
    rows: [{ what: `Scale: ${options.workflows} live entity workflows on one Temporal`, command: `npm run bench -- scale${options.full ? ' --full' : ''}`, figure, ratio, target: 'all live, all applied', met }],
  };
}

/** Temporal's name for a workflow task failure cause: `WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND` → `ForceCloseCommand`. */
function failedTaskCause(cause: number): string {
  const name = temporal.api.enums.v1.WorkflowTaskFailedCause[cause];
  if (!name) return `cause ${cause}`;
  return name
    .replace('WORKFLOW_TASK_FAILED_CAUSE_', '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
}

/**
 * One subscription (a mandate where subscriptions are not routed yet) receiving M events through
 * the receiver; every run of its continue-as-new chain is read back for failed workflow tasks.
 */
async function oneBusyEntity(options: ScaleOptions, receiverUrl: string, client: Client, worker: WorkerChild): Promise<{ rows: Row[]; line: string }> {
  const candidates: { provider: ProviderName; events: string[] }[] = [
    { provider: 'stripe', events: ['invoice.paid', 'customer.subscription.created'] },
    { provider: 'gocardless', events: ['mandates.active', 'mandates.created'] },
  ];
  const chosen = candidates.map((candidate) => ({ ...candidate, events: routedEventNames(candidate.provider, candidate.events) })).find((candidate) => candidate.events.length > 0);
  if (!chosen) throw new Error('no provider routes the events of the busy-entity benchmark');
  const entity = newEntity(chosen.provider, chosen.events);
  const webhooks = Array.from({ length: options.events }, (_, index) => {
    const name = chosen.events[index % chosen.events.length] as string;
    return prepareWebhook(chosen.provider, name, completeReferences(chosen.provider, name, entity));
  });
  const route = webhooks[0]?.deliveries[0]?.route;
  if (!route) throw new Error('the busy entity has no route');
  const agent = keepAliveAgent(options.concurrency);
  const started = Date.now();
  // Sent as a provider would: anything but a 2xx is retried later.
  const { stats } = await sendLikeProvider(webhooks, {
    baseUrl: receiverUrl,
    agent,
    concurrency: options.concurrency,
    initialBackoffMs: 500,
    maxBackoffMs: 5000,
    maxAttempts: 20,
    timeLimitMs: 1_800_000,
    requestTimeoutMs: 30_000,
  });
  agent.destroy();
  progress(`scale: to ${route.workflowId}: ${describeSender(stats)}; accepted in ${round((Date.now() - started) / 1000, 1)} s`);
  const quiet = await workerQuiet(worker.metricsUrl as string, 3000, options.full ? 1_200_000 : 300_000);
  const elapsed = Date.now() - started;
  const facts = await chainFacts(client, route.workflowId, 1000);
  const state = await queryState(client, route.workflowType, route.workflowId);
  const distinct = new Set(webhooks.map((webhook) => webhook.events[0]?.id)).size;
  const redelivered = [...facts.signalsByEvent.values()].filter((count) => count > 1).length;
  // Cause 1 is UnhandledCommand: a signal reached the server while the task completing the run (with
  // continue-as-new) was in flight; Temporal refuses that completion and hands the task over again with
  // the signal, so nothing is lost, but it is a failed task in the history.
  const causes = [...facts.workflowTaskFailureCauses].map(([cause, count]) => `${count}× ${failedTaskCause(cause)}`).join(', ');
  const ratio = (state.eventsApplied ?? 0) / distinct;
  const met = facts.workflowTaskFailures === 0 && state.eventsApplied === distinct && facts.runs >= 2 && stats.gaveUp === 0;
  progress(
    `scale: ${route.workflowId}: ${state.eventsApplied}/${distinct} applied in ${round(elapsed / 1000, 1)} s${quiet ? '' : ' (worker still busy)'}, ${facts.runs} runs, ` +
      `${facts.signals} signals (${redelivered} events signalled more than once, ${state.duplicatesDropped ?? 0} dropped as duplicates), ${facts.workflowTaskFailures} failed workflow tasks${causes ? ` (${causes})` : ''}`,
  );
  const figure = `${state.eventsApplied}/${distinct} events applied to one ${route.workflowType.replace('Workflow', '')} across ${facts.runs} runs (continue-as-new), ${facts.workflowTaskFailures} WorkflowTaskFailed${causes ? ` (${causes})` : ''}, ${round(perSecond(distinct, elapsed))} events/s`;
  return {
    line: `one ${route.workflowType.replace('Workflow', '')}: ${state.eventsApplied}/${distinct} applied over ${facts.runs} runs, ${facts.workflowTaskFailures} failed workflow tasks`,
    rows: [{ what: `Scale: one entity receiving ${options.events} events across continue-as-new`, command: `npm run bench -- scale${options.full ? ' --full' : ''}`, figure, ratio, target: 'all applied, 0 failed tasks', met }],
  };
}

export function scale(options: ScaleOptions): Promise<BenchResult> {
  return onEachServer(options.servers, (server) => scaleOn(server, options));
}

async function scaleOn(server: BenchServer, options: ScaleOptions): Promise<BenchResult> {
  const stack = await startBenchStack({ name: 'bench-scale', logLevel: options.logLevel, worker: true, server });
  const { taskQueue, receiver, worker, client } = stack;
  try {
    const many = await manyWorkflows(options, receiver.url, client, taskQueue, worker);
    const busy = await oneBusyEntity(options, receiver.url, client, worker);
    const rows = [...many.rows, ...busy.rows];
    const met = rows.every((row) => row.met);
    return { name: 'scale', summary: `scale: ${many.line}; ${busy.line} → ratio ${formatRatio(Math.min(...rows.map((row) => row.ratio ?? 0)))} (target 1.00, 0 failed tasks: ${verdict(met)})`, rows };
  } finally {
    await stack.stop();
  }
}

runAlone(module, () => scale(readOptions(process.argv.slice(2), scaleOptions)));
