import { entityWorkflowId } from '../workflows/definitions';
import type { MandateWorkflowInput } from '../workflows/mandate';
import type { ResolverWorkflowInput } from '../workflows/resolver';
import type { SubscriptionWorkflowInput } from '../workflows/subscription';
import type { BillingEvent, BillingEventKind, ProviderName } from './core/events';
import type { WorkflowRoute } from './core/routes';
import type { WorkflowRouteEntry } from './workflow-routes';
import { defaultWorkflowSettings, subscriptionPolicyFor, type WorkflowSettings } from './workflow-settings';

export type { WorkflowRoute } from './core/routes';

export function workflowId(provider: ProviderName, subject: string, id: string): string {
  return entityWorkflowId(provider, subject, id);
}

/** Payment and invoice kinds the subscription workflow acts on (dunning). */
const paymentKinds = new Set<BillingEventKind>([
  'payment.failed',
  'payment.succeeded',
  'invoice.voided',
  'invoice.uncollectible',
  'invoice.closed',
  // Money that comes back: recorded on, or suspending, the subscription's account.
  'payment.charged_back',
  'payment.chargeback_reversed',
  'payment.chargeback_lost',
  'payment.voided',
  'refund.created',
  'refund.paid',
]);

/**
 * The billflow workflow an event is signalled to, or undefined when billflow does not act on it:
 * - `mandate.*` with a mandate id → `mandateWorkflow`, `<provider>:mandate:<id>`;
 * - `subscription.*`, and `payment.failed`/`payment.succeeded`/`invoice.closed` naming their subscription →
 *   `subscriptionWorkflow`, `<provider>:subscription:<id>`;
 * - a payment event without its subscription (a GoCardless payment links only the payment, a
 *   Recurly JSON body only ids) → `paymentResolverWorkflow`, `<provider>:payment:<id>` (or
 *   `:invoice:`), which asks the provider inside Temporal and forwards it — never an API call
 *   in the HTTP request;
 * - `account.closed` → `accountWorkflow`, `<provider>:account:<id>`.
 */
export function routeEvent(event: BillingEvent, settings: WorkflowSettings = defaultWorkflowSettings): WorkflowRoute | undefined {
  const { provider, kind, references } = event;
  if (kind.startsWith('mandate.') && references.mandate) {
    const start: MandateWorkflowInput = {
      provider,
      mandateId: references.mandate,
      maxSignalsPerRun: settings.maxSignalsPerRun,
      ...(settings.suspensionGraceMs > 0 ? { suspensionGraceMs: settings.suspensionGraceMs } : {}),
    };
    return { workflowType: 'mandateWorkflow', workflowId: workflowId(provider, 'mandate', references.mandate), args: [start] };
  }
  if (kind.startsWith('subscription.') || paymentKinds.has(kind)) {
    if (references.subscription) {
      const start: SubscriptionWorkflowInput = { provider, subscriptionId: references.subscription, policy: subscriptionPolicyFor(provider, settings) };
      return { workflowType: 'subscriptionWorkflow', workflowId: workflowId(provider, 'subscription', references.subscription), args: [start] };
    }
    const [subject, id] = references.payment ? ['payment', references.payment] : ['invoice', references.invoice];
    if (paymentKinds.has(kind) && id) {
      const start: ResolverWorkflowInput = { provider, subscriptionPolicy: subscriptionPolicyFor(provider, settings) };
      return { workflowType: 'paymentResolverWorkflow', workflowId: workflowId(provider, subject, id), args: [start] };
    }
    return undefined;
  }
  const accountId = references.account ?? references.customer;
  if (kind === 'account.closed' && accountId) {
    return { workflowType: 'accountWorkflow', workflowId: workflowId(provider, 'account', accountId), args: [{ provider, accountId, maxSignalsPerRun: settings.maxSignalsPerRun }] };
  }
  return undefined;
}

/**
 * Every workflow an event goes to: billflow's own (above) and, in addition, each of the routes
 * given to the receiver (`userRoutes`) whose kinds include the event's. One event can so fan out
 * to several workflows; a workflow id listed twice is signalled once.
 */
export function routeEvents(
  event: BillingEvent,
  options: { settings?: WorkflowSettings; userRoutes?: readonly WorkflowRouteEntry[] } = {},
): WorkflowRoute[] {
  const routes: WorkflowRoute[] = [];
  const own = routeEvent(event, options.settings);
  if (own) routes.push(own);
  for (const entry of options.userRoutes ?? []) {
    if (!entry.kinds.includes(event.kind)) continue;
    const id = entry.workflowId(event);
    if (!id || routes.some((route) => route.workflowId === id)) continue;
    routes.push({ workflowType: entry.workflowType, workflowId: id, args: entry.args?.(event) ?? [] });
  }
  return routes;
}
