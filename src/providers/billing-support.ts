import { ApplicationFailure } from '@temporalio/common';
import type { PaymentSubject, RetryPaymentResult } from '../core/billing';
import type { ProviderName } from '../core/events';
import { failureTypes } from '../core/failures';
import { invalidInput } from './http/request';

/* What the providers' `BillingApi` implementations share: checks of their inputs and outcomes. */

/** A refused payment is the answer to "retry the payment", not an error of the activity. */
export async function declinedAsFailed(provider: ProviderName, id: string, attempt: () => Promise<RetryPaymentResult>): Promise<RetryPaymentResult> {
  try {
    return await attempt();
  } catch (error) {
    if (!(error instanceof ApplicationFailure) || error.type !== failureTypes.paymentDeclined) throw error;
    const detail = (error.details?.[0] ?? {}) as { declineCode?: string; declineMessage?: string | null };
    return {
      provider,
      id,
      outcome: 'failed',
      providerStatus: 'declined',
      ...(detail.declineCode ? { declineCode: detail.declineCode } : {}),
      ...(detail.declineMessage ? { declineMessage: detail.declineMessage } : {}),
    };
  }
}

export function requiredId(value: string | undefined, name: string, provider: ProviderName): string {
  if (!value) throw invalidInput(`${name} is required for ${provider}`);
  return value;
}

export function nothingToCollect(provider: ProviderName, invoiceId: string, state: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${provider} invoice ${invoiceId} is ${state}: nothing to collect`, failureTypes.invoiceVoided);
}

export function unsupported(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, failureTypes.unsupported);
}

export function withoutEmpty(subject: { [Key in keyof PaymentSubject]?: string | null }): PaymentSubject {
  return Object.fromEntries(Object.entries(subject).filter(([, value]) => typeof value === 'string' && value !== '')) as PaymentSubject;
}
