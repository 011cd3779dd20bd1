import { condition, defineQuery, log, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BillingEvent, ProviderName } from '../src/core/events';
import { activityOptions } from './activity-options';
import { entityWorkflowId } from './definitions';
import { EventInbox } from './event-inbox';
import { isFinalFailure } from './failures';
import type { SubscriptionWorkflowInput } from './subscription';
import type { SubscriptionPolicy } from './subscription';

export interface ResolverWorkflowInput {
  provider: ProviderName;
  /** Handed to the subscription workflow if forwarding starts it. */
  subscriptionPolicy?: SubscriptionPolicy;
}

export interface ResolverView {
  forwarded: { eventId: string; to: string }[];
  dropped: { eventId: string; reason: string }[];
}

const idleBeforeEnd = '5 seconds';

export const resolverStateQuery = defineQuery<ResolverView>('resolverState');

const { resolvePaymentSubject, forwardBillingEvent, recordDeadLetter } = proxyActivities<Activities>(activityOptions);

/**
 * Short-lived, one per payment (or invoice) whose event names no subscription — a GoCardless
 * payment links only the payment, a Recurly JSON body only ids. Asks the provider which
 * subscription the payment belongs to, then forwards each event to that subscription's workflow
 * with signal-with-start. Events of one payment queue here and are forwarded in order; the workflow
 * ends once idle, and the next event for the payment starts a fresh one (the entity workflow
 * dedupes what was forwarded twice).
 */
export async function paymentResolverWorkflow(input: ResolverWorkflowInput): Promise<void> {
  const inbox = new EventInbox();
  inbox.listen();
  const view: ResolverView = { forwarded: [], dropped: [] };
  setHandler(resolverStateQuery, () => view);
  const subjects = new Map<string, Subject | undefined>();

  for (;;) {
    // Waits a little after the last event, so a burst about one payment is forwarded by one run.
    // Takes whatever is queued even when the wait timed out: a signal delivered together with
    // the timer must not be left behind by a run that ends.
    await condition(() => inbox.hasPending(), idleBeforeEnd);
    const event = inbox.take();
    if (!event) break;
    await inbox.inTraceOf(event, () => forward(event, input, subjects, view));
  }
  setCurrentDetails(`Forwarded ${view.forwarded.length}, dropped ${view.dropped.length}`);
}

/** Resolves one event's subscription and forwards the event to it, or keeps it as a dead letter. */
async function forward(event: BillingEvent, input: ResolverWorkflowInput, subjects: Map<string, Subject | undefined>, view: ResolverView): Promise<void> {
  setCurrentDetails(`Resolving ${event.type} (${event.id}) of ${input.provider} payment ${event.references.payment ?? event.references.invoice}`);
  const subject = await resolve(event, subjects);
  if (!subject?.subscriptionId) {
    view.dropped.push({ eventId: event.id, reason: 'belongs to no subscription' });
    log.info('Payment belongs to no subscription: event kept as a dead letter', { eventId: event.id, type: event.type });
    // Kept where an operator sees it and can replay it once the payment has a subscription;
    // histories recorded before the dead-letter store replay without the call.
    if (patched('resolver-dead-letters')) {
      const payment = event.references.payment ?? event.references.invoice;
      const reason = subject ? `payment ${payment} belongs to no subscription` : `the provider does not know payment ${payment}`;
      await recordDeadLetter({ provider: input.provider, kind: 'unresolved_payment', reason, event, workflowId: workflowInfo().workflowId });
    }
    return;
  }
  const { subscriptionId } = subject;
  const workflowId = entityWorkflowId(input.provider, 'subscription', subscriptionId);
  const start: SubscriptionWorkflowInput = { provider: input.provider, subscriptionId, ...(input.subscriptionPolicy ? { policy: input.subscriptionPolicy } : {}) };
  // The invoice a payment was an attempt at keys its dunning case (a Recurly retry is a new
  // transaction of the same invoice). Forwarded events carried none before; those histories replay so.
  const invoice = subject.invoiceId && patched('resolver-adds-invoice') ? { invoice: subject.invoiceId } : {};
  await forwardBillingEvent({
    event: { ...event, references: { ...definedOnly(subject), ...invoice, ...event.references, subscription: subscriptionId } },
    route: { workflowType: 'subscriptionWorkflow', workflowId, args: [start] },
  });
  view.forwarded.push({ eventId: event.id, to: workflowId });
}

interface Subject {
  subscriptionId?: string;
  invoiceId?: string;
  mandateId?: string;
  customerId?: string;
}

async function resolve(event: BillingEvent, known: Map<string, Subject | undefined>): Promise<Subject | undefined> {
  const { payment: paymentId, invoice: invoiceId } = event.references;
  const key = `${paymentId ?? ''}|${invoiceId ?? ''}`;
  if (known.has(key)) return known.get(key);
  let subject: Subject | undefined;
  try {
    subject = await resolvePaymentSubject({ provider: event.provider, paymentId, invoiceId });
  } catch (error) {
    // Retryable failures are retried by Temporal; the provider not knowing the payment is final.
    if (!isFinalFailure(error)) throw error;
    log.warn('Payment could not be resolved', { eventId: event.id, error: String(error) });
  }
  known.set(key, subject);
  return subject;
}

function definedOnly(subject: Subject): { customer?: string; mandate?: string } {
  return {
    ...(subject.customerId ? { customer: subject.customerId } : {}),
    ...(subject.mandateId ? { mandate: subject.mandateId } : {}),
  };
}
