/**
 * The `type` of every ApplicationFailure billflow raises itself, in one style: snake_case, like the
 * providers' own error codes, which a failure from a provider's error answer carries instead
 * (`invalid_state`, `card_declined`, or `http_<status>` when the answer names none). Workflows
 * decide on `nonRetryable`, never on these names (one exception: `idempotency_key_spent`): they
 * are for people, alerts and the Web UI.
 */
export const failureTypes = {
  /** An account-store change without what it needs (customer, event id, reason, period key). */
  invalidAccountChange: 'invalid_account_change',
  /** A workflow passed an input no retry can make valid. */
  invalidInput: 'invalid_input',
  /** A credential the call needs is not configured: nothing was sent. */
  missingConfiguration: 'missing_configuration',
  /** A call that changes something at the provider came without its idempotency key. */
  missingIdempotencyKey: 'missing_idempotency_key',
  /** The provider has no such call (CCBill has no payment lookup, only GoCardless has mandates). */
  unsupported: 'unsupported',
  /** The invoice was voided: there is nothing to collect. */
  invoiceVoided: 'invoice_voided',
  /** The provider retries failed payments itself and offers no call to do it (CCBill). */
  providerRetriesItself: 'provider_retries_itself',
  /** The provider refused the payment itself (card declined, insufficient funds). */
  paymentDeclined: 'payment_declined',
  /** The request got no HTTP answer (refused connection, TLS, DNS). */
  networkError: 'network_error',
  /** No answer within the call's deadline. */
  timeout: 'timeout',
  /** A 2xx answer whose body is not what the API documents. */
  malformedResponse: 'malformed_response',
  /**
   * The idempotency key's first answer was a server error, and the provider replays it for every
   * repeat (Stripe does, for 24 hours): only a new key can try again. The one type workflows read,
   * through `isSpentKeyFailure`, to make a new attempt under a new key.
   */
  idempotencyKeySpent: 'idempotency_key_spent',
} as const;

export type FailureType = (typeof failureTypes)[keyof typeof failureTypes];
