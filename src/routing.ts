import type { BillingEvent, ProviderName } from './events';

/** Which entity workflow an event belongs to: signal-with-start target. */
export interface WorkflowRoute {
  workflowType: string;
  /** `<provider>:<subject>:<id>`, e.g. `gocardless:mandate:MD000123`. */
  workflowId: string;
  /** Arguments the workflow is started with when it does not run yet. */
  args: unknown[];
}

export function workflowId(provider: ProviderName, subject: string, id: string): string {
  return `${provider}:${subject}:${id}`;
}

/**
 * The workflow an event is signalled to, or undefined when billflow does not act on it (yet).
 * Events lacking the entity id (a GoCardless payment links only the payment) are not routed here:
 * resolving them needs an API call, which never happens in the HTTP request path.
 */
export function routeEvent(event: BillingEvent): WorkflowRoute | undefined {
  const { provider, kind } = event;
  const mandateId = event.references.mandate;
  if (kind.startsWith('mandate.') && mandateId) {
    return {
      workflowType: 'mandateWorkflow',
      workflowId: workflowId(provider, 'mandate', mandateId),
      args: [{ provider, mandateId }],
    };
  }
  return undefined;
}
