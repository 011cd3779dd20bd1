import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import Stripe from 'stripe';
import { inject } from 'vitest';
import { AccountStore } from '../../../src/store/account-store';
import { openDatabase, type Database } from '../../../src/store/database';
import { loadConfig, type Config } from '../../../src/config';
import { startReceiver, type RunningReceiver } from '../../../src/run/receiver';
import { sandboxProviderSettings, startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { signWebhookBody } from '../../../src/testing/sign';
import { webhookTemplates } from '../../../src/testing/webhooks';
import { reachableSandbox } from '../../../src/cli/trigger';
import type { TriggerReferences } from '../../../src/testing/webhooks/types';
import type { ProviderName } from '../../../src/core/events';
import { temporalConnectionOptions } from '../../../src/temporal/connection';
import { startWorker, type BillflowWorker, type WorkflowCode } from '../../../src/temporal/worker';
import type { Tracing } from '../../../src/tracing/start';
import type { WorkflowRouteEntry } from '../../../src/workflow-routes';
import { activitiesFor } from './worker-activities';

export const goCardlessSecret = 'workflow-e2e-gocardless-secret';
export const stripeSecret = 'whsec_workflow_e2e';
export const recurlySecret = 'workflow-e2e-recurly-secret';
export const billforwardCredentials = 'billflow:workflow-e2e-billforward';
const silent = pino({ level: 'silent' });

/** The configuration the receiver and the worker get, pointing every provider at the sandbox. */
export function e2eConfig(sandbox: ProviderSandbox, environment: Record<string, string> = {}): Config {
  return loadConfig({
    // Every provider's API is the sandbox; the ones named below with the secrets these tests sign with.
    ...sandboxProviderSettings(sandbox, {}),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `workflows-e2e-${randomUUID()}`,
    GOCARDLESS_WEBHOOK_SECRET: goCardlessSecret,
    GOCARDLESS_ACCESS_TOKEN: sandbox.accessToken,
    GOCARDLESS_API_URL: sandbox.urls.gocardless,
    STRIPE_WEBHOOK_SECRET: stripeSecret,
    STRIPE_API_KEY: sandbox.accessToken,
    STRIPE_API_URL: sandbox.urls.stripe,
    RECURLY_WEBHOOK_SECRET: recurlySecret,
    RECURLY_API_KEY: sandbox.accessToken,
    RECURLY_API_URL: sandbox.urls.recurly,
    ...sandbox.settings.billforward,
    BILLFORWARD_WEBHOOK_BASIC_AUTH: billforwardCredentials,
    ...sandbox.settings.ccbill,
    // CCBill proves itself by its address only: the tests post from loopback.
    CCBILL_ALLOWED_IPS: '127.0.0.1,::1',
    PORT: '0',
    HOST: '127.0.0.1',
    ...environment,
  });
}

/**
 * Sandbox, account store, worker and receiver as production wires them, in this process; a user's
 * workflows (`workflowsPath`, their activities, their receiver `routes`) when given.
 */
export async function startBillflow(
  environment: Record<string, string> = {},
  extraActivities: object = {},
  user: { routes?: readonly WorkflowRouteEntry[]; tracing?: Tracing } & WorkflowCode = {},
  logger: pino.Logger = silent,
) {
  const sandbox = await startProviderSandbox({ host: '127.0.0.1' });
  const config = e2eConfig(sandbox, environment);
  const database: Database = await openDatabase({});
  const store = new AccountStore(database);
  const worker: BillflowWorker = await startWorker(config, { ...activitiesFor(config, store), ...extraActivities }, logger, { workflowsPath: user.workflowsPath, workflowBundle: user.workflowBundle, tracing: user.tracing });
  const receiver: RunningReceiver = await startReceiver(config, logger, { routes: user.routes, tracing: user.tracing });
  const client = new Client({ connection: await Connection.connect(temporalConnectionOptions(config.temporal)), namespace: config.temporal.namespace });
  return {
    sandbox,
    config,
    store,
    worker,
    receiver,
    client,
    async close() {
      await receiver.close();
      await worker.shutdown();
      await client.connection.close();
      await database.close();
      await sandbox.close();
    },
  };
}

export type Billflow = Awaited<ReturnType<typeof startBillflow>>;

export interface GoCardlessEvent {
  id?: string;
  resource_type: string;
  action: string;
  links: Record<string, string>;
  details?: Record<string, unknown>;
  created_at?: string;
}

/** A GoCardless batch as GoCardless sends it, with its ids filled in. */
export function goCardlessBatch(events: GoCardlessEvent[]): { body: string; ids: string[] } {
  const full = events.map((event) => ({
    id: event.id ?? `EV${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`,
    created_at: event.created_at ?? new Date().toISOString(),
    resource_type: event.resource_type,
    action: event.action,
    links: event.links,
    details: { origin: 'gocardless', cause: `${event.resource_type}_${event.action}`, description: 'e2e', ...event.details },
    metadata: {},
  }));
  return { body: JSON.stringify({ events: full, meta: { webhook_id: `WB${randomUUID().slice(0, 8)}` } }), ids: full.map((event) => event.id) };
}

/** Posts a body signed as GoCardless signs it. */
export async function postGoCardless(receiver: RunningReceiver, body: string): Promise<Response> {
  const headers = { 'content-type': 'application/json', ...signWebhookBody('gocardless', body, goCardlessSecret) };
  return fetch(`${receiver.url}/webhooks/gocardless`, { method: 'POST', headers, body });
}

/** Posts the delivery `trigger` builds for `event` of `provider`, seeding the sandbox as `trigger` does unless told not to; returns the response and the references used. */
export async function postTriggered(
  { receiver, sandbox }: { receiver: RunningReceiver; sandbox: ProviderSandbox },
  provider: ProviderName,
  event: string,
  references: TriggerReferences,
  secret: string,
  options: { seed?: boolean; headers?: Record<string, string> } = {},
) {
  const template = webhookTemplates.get(provider);
  if (!template) throw new Error(`no webhook template for ${provider}`);
  const complete = template.complete(event, references);
  // Seeded as `trigger` seeds the sandbox `dev` runs: through its control routes.
  const control = options.seed === false ? undefined : await reachableSandbox(sandbox.url);
  if (control && template.seed) await template.seed(event, complete, control);
  const built = template.build(event, complete, secret, new Date());
  const query = built.query ? `?${new URLSearchParams(built.query).toString()}` : '';
  const response = await fetch(`${receiver.url}/webhooks/${provider}${query}`, { method: 'POST', headers: { ...built.headers, ...options.headers }, body: built.body });
  return { response, references: complete, built };
}

/** Posts a Stripe event signed by Stripe's own SDK. */
export async function postStripe(receiver: RunningReceiver, event: Record<string, unknown>): Promise<Response> {
  const body = JSON.stringify(event);
  const signature = new Stripe('sk_test_unused').webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });
  return fetch(`${receiver.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
}

/** A Stripe `customer.subscription.*` event about `subscription`. */
export function stripeSubscriptionEvent(
  type: string,
  subscription: { id: string; customer: string; status?: string; cancelAtPeriodEnd?: boolean; periodStart?: number; periodEnd?: number },
  previous: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    id: `evt_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
    object: 'event',
    api_version: '2025-03-31.basil',
    created: now,
    livemode: false,
    type,
    data: {
      object: {
        id: subscription.id,
        object: 'subscription',
        customer: subscription.customer,
        status: subscription.status ?? 'active',
        cancel_at_period_end: subscription.cancelAtPeriodEnd ?? false,
        items: { object: 'list', data: [{ id: `si_${subscription.id}`, current_period_start: subscription.periodStart ?? now, current_period_end: subscription.periodEnd ?? now + 30 * 86_400 }] },
      },
      previous_attributes: previous,
    },
  };
}
