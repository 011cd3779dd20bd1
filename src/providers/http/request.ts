import { ApplicationFailure } from '@temporalio/common';
import { failureTypes } from '../../core/failures';
import { failureFromRequestError } from './failures';

/** One call to a provider's API, described without any secret in `operation`. */
export interface ProviderRequest {
  /** The provider as people name it, e.g. `Recurly`. */
  provider: string;
  /** Method and path, e.g. `GET /invoices/123`: what failure messages show. */
  operation: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface ProviderAnswer {
  status: number;
  ok: boolean;
  headers: Headers;
  text: string;
}

/**
 * Sends one request and reads the whole answer under one deadline. A request that gets no answer
 * becomes a retryable failure; the answer itself, error or not, is the caller's to read.
 */
export async function sendProviderRequest(request: ProviderRequest): Promise<ProviderAnswer> {
  const { provider, operation, timeoutMs } = request;
  try {
    // The signal bounds the whole exchange, body included. Provider APIs do not redirect API
    // calls, so a redirect means a wrong base URL: it surfaces as a 3xx instead of being followed.
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, ok: response.ok, headers: response.headers, text };
  } catch (error) {
    throw failureFromRequestError({ provider, operation, error, timeoutMs });
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A credential that is not configured: nothing is sent, and no retry can help. */
export function missingConfiguration(provider: string, operation: string, what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${provider} ${operation}: ${what} is not configured`, failureTypes.missingConfiguration);
}

/** A workflow passed an input no retry can make valid. */
export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, failureTypes.invalidInput);
}

/** `/invoices/{id}`-style path segment: ids come from webhooks and are never trusted as paths. */
export function segment(id: string): string {
  if (!id) throw invalidInput('an id is required');
  return encodeURIComponent(id);
}
