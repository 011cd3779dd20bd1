import type { BillingEvent } from '../src/core/events';
import type { ProviderSandbox } from '../src/testing/sandbox/server';
import { benchSecrets, gocardlessBatch, newEntity, parseAsReceiver, prepareWebhook, routedEventNames, shuffle, type PreparedWebhook } from '../bench/lib/webhooks';
import { routeEvent } from '../src/routing';
import { signWebhookBody } from '../src/testing/sign';

/** One GoCardless mandate's story: cancelled, reinstated, and (for some) cancelled again. */
export interface MandateStory {
  mandateId: string;
  customerId: string;
  workflowId: string;
  events: BillingEvent[];
  /** What the last event implies, and what the sandbox says now. */
  finalStatus: 'cancelled' | 'active';
}

/** One Stripe subscription whose invoice payment failed, with no retry planned by Stripe: billflow's dunning retries it once. */
export interface DunningStory {
  subscriptionId: string;
  customerId: string;
  invoiceId: string;
  workflowId: string;
  event: BillingEvent;
}

export interface Scenario {
  mandates: MandateStory[];
  dunning: DunningStory[];
  /** Every delivery, shuffled, duplicates (the same bytes again) included. */
  webhooks: PreparedWebhook[];
  duplicates: number;
  /** Workflow id → the distinct event ids it must apply. */
  expected: Map<string, { workflowType: string; eventIds: Set<string> }>;
}

export interface ScenarioOptions {
  /** Deliveries in total, duplicates included. */
  webhooks: number;
  /** Share of deliveries that repeat an earlier one, 0–1. */
  duplicateShare: number;
  /** GoCardless events per delivery, at most (batches mix mandates, as GoCardless does). */
  maxBatch: number;
  /** Share of the unique deliveries that are Stripe failed payments (0 where Stripe is not routed yet). */
  stripeShare: number;
  random: () => number;
}

const second = 1000;

/** A Stripe `invoice.payment_failed` Stripe will not retry itself (`next_payment_attempt: null`), re-signed. */
function finalPaymentFailure(entity: { customer?: string; subscription?: string; invoice?: string }, now: Date): PreparedWebhook {
  const built = prepareWebhook('stripe', 'invoice.payment_failed', entity, now);
  const payload = JSON.parse(built.body.toString('utf8')) as { data: { object: Record<string, unknown> } };
  payload.data.object.next_payment_attempt = null;
  const body = Buffer.from(JSON.stringify(payload, null, 2));
  const headers = { ...built.headers, ...signWebhookBody('stripe', body, benchSecrets.stripe, { now }) };
  const events = parseAsReceiver('stripe', body, headers, {});
  const deliveries = events.flatMap((event) => {
    const route = routeEvent(event);
    return route ? [{ event, route }] : [];
  });
  return { ...built, body, headers, events, deliveries };
}

export function stripeDunningRouted(): boolean {
  return routedEventNames('stripe', ['invoice.payment_failed']).length === 1;
}

/**
 * The deliveries of a crash test: GoCardless mandate stories in batches and Stripe dunning cases,
 * shuffled (so later events often arrive first), with repeats of whole deliveries.
 */
export function buildScenario(options: ScenarioOptions): Scenario {
  const unique = Math.max(1, Math.round(options.webhooks / (1 + options.duplicateShare)));
  const stripeCount = stripeDunningRouted() ? Math.round(unique * options.stripeShare) : 0;
  const gocardlessDeliveries = unique - stripeCount;
  const averageBatch = (1 + options.maxBatch) / 2;
  const mandateCount = Math.max(1, Math.round((gocardlessDeliveries * averageBatch) / 2.5));
  const base = Date.now() - 3600 * second;

  const mandates: MandateStory[] = [];
  const singles: PreparedWebhook[] = [];
  for (let i = 0; i < mandateCount; i += 1) {
    const entity = newEntity('gocardless', ['mandates.cancelled']);
    const actions = options.random() < 0.5 ? ['cancelled', 'reinstated'] : ['cancelled', 'reinstated', 'cancelled'];
    const story: MandateStory = {
      mandateId: entity.mandate as string,
      customerId: `CU${(entity.mandate as string).slice(2)}`,
      workflowId: '',
      events: [],
      finalStatus: actions.at(-1) === 'cancelled' ? 'cancelled' : 'active',
    };
    actions.forEach((action, step) => {
      const webhook = prepareWebhook('gocardless', `mandates.${action}`, entity, new Date(base + i * 10 + step * second));
      singles.push(webhook);
      story.events.push(...webhook.events);
      story.workflowId = webhook.deliveries[0]?.route.workflowId ?? story.workflowId;
    });
    mandates.push(story);
  }
  shuffle(singles, options.random);
  const deliveries: PreparedWebhook[] = [];
  for (let i = 0; i < singles.length; ) {
    const size = 1 + Math.floor(options.random() * options.maxBatch);
    deliveries.push(gocardlessBatch(singles.slice(i, i + size)));
    i += size;
  }

  const dunning: DunningStory[] = [];
  for (let i = 0; i < stripeCount; i += 1) {
    const entity = newEntity('stripe', ['invoice.payment_failed']);
    const webhook = finalPaymentFailure(entity, new Date());
    const event = webhook.events[0] as BillingEvent;
    dunning.push({
      subscriptionId: entity.subscription as string,
      customerId: entity.customer as string,
      invoiceId: entity.invoice as string,
      workflowId: webhook.deliveries[0]?.route.workflowId ?? '',
      event,
    });
    deliveries.push(webhook);
  }

  const duplicates = options.webhooks - deliveries.length;
  const originals = [...deliveries];
  for (let i = 0; i < duplicates; i += 1) deliveries.push(originals[Math.floor(options.random() * originals.length)] as PreparedWebhook);
  shuffle(deliveries, options.random);

  const expected = new Map<string, { workflowType: string; eventIds: Set<string> }>();
  for (const webhook of originals) {
    for (const { event, route } of webhook.deliveries) {
      const entry = expected.get(route.workflowId) ?? { workflowType: route.workflowType, eventIds: new Set<string>() };
      entry.eventIds.add(event.id);
      expected.set(route.workflowId, entry);
    }
  }
  return { mandates, dunning, webhooks: deliveries, duplicates, expected };
}

/** Puts into the sandbox what each story's last event says, so that the workflows' confirmations agree with it. */
export function seedSandbox(sandbox: ProviderSandbox, scenario: Scenario): void {
  for (const story of scenario.mandates) sandbox.seedMandate({ id: story.mandateId, customerId: story.customerId, status: story.finalStatus });
  for (const story of scenario.dunning) {
    sandbox.state.stripe.seedSubscription({ id: story.subscriptionId, customerId: story.customerId, status: 'past_due' });
    sandbox.state.stripe.seedInvoice({ id: story.invoiceId, customerId: story.customerId, subscriptionId: story.subscriptionId, status: 'open', nextOutcome: 'succeed' });
  }
}
